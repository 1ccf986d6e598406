import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.ts';
import { TEST_ENCRYPTION_KEYS, TEST_SESSION_SECRET } from './helper.ts';

const base = {
  ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
  SESSION_SECRET: TEST_SESSION_SECRET,
  DATA_DIR: mkdtempSync(join(tmpdir(), 'ffx-cfg-')),
};

function fails(env: Record<string, string>, variable: string, pattern: RegExp) {
  t.test(`${variable}: ${pattern}`, async (t) => {
    try {
      loadConfig({ ...base, ...env });
      t.fail('expected a ConfigError');
    } catch (err) {
      t.type(err, ConfigError);
      t.equal((err as ConfigError).variable, variable);
      t.match((err as Error).message, pattern);
      t.notMatch((err as Error).message, /\n/, 'one line');
    }
  });
}

t.test('defaults', async (t) => {
  const c = loadConfig(base);
  t.equal(c.port, 3000);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.publicUrl, 'http://localhost:3000');
  t.equal(c.databaseUrl, undefined);
  t.equal(c.redisUrl, undefined);
  t.equal(c.runWorkers, true);
  t.equal(c.queuePrefix, 'ffx');
  t.equal(c.github.apiUrl, 'https://api.github.com');
  t.equal(c.github.webUrl, 'https://github.com');
  t.same(c.github.oauthScopes, ['repo', 'read:user', 'admin:repo_hook']);
  t.equal(c.webhookBodyLimit, 25 * 1024 * 1024);
  t.equal(c.keyring.primary.kid, 'test1');
  t.equal(c.trustProxy, false);
  t.equal(c.migrateOnStart, true);
});

t.test('values are parsed', async (t) => {
  const c = loadConfig({
    ...base,
    PORT: '8080',
    PUBLIC_URL: 'https://ffx.example.com/',
    DATABASE_URL: 'postgres://u@db:5432/ffx',
    REDIS_URL: 'redis://cache:6379',
    RUN_WORKERS: 'false',
    QUEUE_PREFIX: '{ffx-staging}',
    GITHUB_CLIENT_ID: 'Iv1.abc',
    GITHUB_CLIENT_SECRET: 'shh',
    GITHUB_API_URL: 'https://ghe.example.com/api/v3',
    GITHUB_WEB_URL: 'https://ghe.example.com',
    GITHUB_WEBHOOK_SECRET: 'a-long-webhook-secret',
    GITHUB_OAUTH_SCOPES: 'repo,read:user',
    TRUST_PROXY: '1',
    DB_MIGRATE_ON_START: 'no',
    LOG_LEVEL: 'DEBUG',
  });
  t.equal(c.port, 8080);
  t.equal(c.publicUrl, 'https://ffx.example.com', 'trailing slash dropped');
  t.equal(c.runWorkers, false);
  t.equal(c.queuePrefix, '{ffx-staging}', 'braces allowed: a Redis Cluster hash tag');
  t.equal(c.trustProxy, 1);
  t.equal(c.migrateOnStart, false);
  t.equal(c.logLevel, 'debug');
  t.same(c.github.oauthScopes, ['repo', 'read:user']);
  t.equal(c.github.apiUrl, 'https://ghe.example.com/api/v3');
  t.equal(loadConfig({ ...base, TRUST_PROXY: 'true' }).trustProxy, true);
  t.equal(
    loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy,
    '10.0.0.0/8, 127.0.0.1',
  );
});

fails({ PORT: 'eighty' }, 'PORT', /whole number from 0 to 65535/);
fails({ PORT: '70000' }, 'PORT', /whole number/);
fails({ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL', /must be a URL/);
fails({ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL', /must start with http: or https:/);
fails({ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL', /postgres:/);
fails({ REDIS_URL: 'http://x' }, 'REDIS_URL', /redis:/);
fails({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of fatal/);
fails({ QUEUE_PREFIX: 'ffx prod' }, 'QUEUE_PREFIX', /letters, digits/);
fails({ RUN_WORKERS: 'maybe', REDIS_URL: 'redis://x' }, 'RUN_WORKERS', /true or false/);
fails({ ENCRYPTION_KEYS: 'k1:short' }, 'ENCRYPTION_KEYS', /randomBytes\(32\)/);
fails({ ENCRYPTION_KEYS: 'garbage' }, 'ENCRYPTION_KEYS', /ENCRYPTION_KEYS/);
fails({ SESSION_SECRET: 'short' }, 'SESSION_SECRET', /at least 32 characters/);
fails({ GITHUB_CLIENT_ID: 'abc' }, 'GITHUB_CLIENT_SECRET', /together/);
fails({ GITHUB_CLIENT_SECRET: 'abc' }, 'GITHUB_CLIENT_ID', /together/);
fails({ GITHUB_WEBHOOK_SECRET: 'short' }, 'GITHUB_WEBHOOK_SECRET', /16 characters/);
fails({ GITHUB_OAUTH_SCOPES: 'repo workflow' }, 'GITHUB_OAUTH_SCOPES', /workflow/);
fails({ TRUST_PROXY: 'everyone!' }, 'TRUST_PROXY', /hop count/);

t.test('an external database needs explicit keys', async (t) => {
  t.throws(
    () => loadConfig({ DATABASE_URL: 'postgres://db/x', SESSION_SECRET: TEST_SESSION_SECRET }),
    {
      variable: 'ENCRYPTION_KEYS',
      message: /required when DATABASE_URL is set; generate one with/,
    },
  );
  t.throws(
    () => loadConfig({ DATABASE_URL: 'postgres://db/x', ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }),
    { variable: 'SESSION_SECRET', message: /SESSION_SECRET/ },
  );
});

t.test('embedded mode generates secrets once and reuses them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ffx-local-'));
  const first = loadConfig({ DATA_DIR: dir });
  const file = join(dir, 'secrets.json');
  t.equal(first.generatedSecretsFile, file);
  t.ok(existsSync(file));
  t.equal(statSync(file).mode & 0o777, 0o600, 'only the owner can read it');
  const second = loadConfig({ DATA_DIR: dir });
  t.equal(second.sessionSecret, first.sessionSecret);
  t.same(second.keyring.primary.key, first.keyring.primary.key);
  t.match(JSON.parse(readFileSync(file, 'utf8')).encryptionKeys, /^local1:/);
  // A given key wins over the stored one.
  t.equal(
    loadConfig({ DATA_DIR: dir, ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }).keyring.primary.kid,
    'test1',
  );
});

t.test('a damaged secrets file stops start-up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ffx-local-'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'secrets.json'), '{not json');
  t.throws(() => loadConfig({ DATA_DIR: dir }), { variable: 'DATA_DIR', message: /damaged/ });
  writeFileSync(join(dir, 'secrets.json'), '{"encryptionKeys": 1}');
  t.throws(() => loadConfig({ DATA_DIR: dir }), { variable: 'DATA_DIR', message: /DATA_DIR/ });
});

t.test('CONFIG_VARIABLES names every variable .env.example documents', async (t) => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const documented = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  t.same([...new Set(documented)].sort(), [...CONFIG_VARIABLES].sort());
});
