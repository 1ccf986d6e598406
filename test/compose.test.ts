// Docker cannot run here, so check the compose file against the configuration schema:
// every variable it sets is one loadConfig reads, and the values it fixes are valid.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, { environment?: Record<string, string>; command?: string[] | string }>;
};

t.test('app and worker only set variables loadConfig knows', async (t) => {
  for (const name of ['app', 'worker']) {
    const env = compose.services[name]?.environment ?? {};
    t.ok(Object.keys(env).length > 0, `${name} has an environment`);
    for (const key of Object.keys(env)) {
      t.ok(
        (CONFIG_VARIABLES as readonly string[]).includes(key),
        `${name}: ${key} is a config variable`,
      );
    }
    for (const required of ['DATABASE_URL', 'REDIS_URL', 'ENCRYPTION_KEYS', 'SESSION_SECRET']) {
      t.ok(required in env, `${name} sets ${required}`);
    }
  }
});

t.test('the values compose fixes pass validation', async (t) => {
  const env = Object.fromEntries(
    Object.entries(compose.services.app!.environment!).map(([k, v]) => [
      k,
      // ${VAR:-default} → default; ${VAR:?msg} → a valid test value.
      String(v)
        .replace(/\$\{(\w+):-([^}]*)\}/, '$2')
        .replace(/\$\{(\w+):\?[^}]*\}/, (_m, name: string) =>
          name === 'ENCRYPTION_KEYS'
            ? `k1:${Buffer.alloc(32, 3).toString('base64')}`
            : 'x'.repeat(40),
        ),
    ]),
  );
  const config = loadConfig(env);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.runWorkers, false, 'the API leaves jobs to the worker service');
  t.match(config.databaseUrl, /^postgres:\/\/flowfix:flowfix@postgres:5432/);
  t.equal(config.redisUrl, 'redis://redis:6379');
});

t.test('redis never evicts and the worker runs the worker entry point', async (t) => {
  t.match(JSON.stringify(compose.services.redis!.command), /noeviction/);
  t.match(JSON.stringify(compose.services.worker!.command), /dist\/src\/worker\.js/);
});
