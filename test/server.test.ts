// The real server process, as a person starts it: one clear line for a bad setting or an
// unreachable database, and data that survives a restart on the embedded defaults.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openDatabase } from '../src/db/client.ts';
import { users } from '../src/db/schema/index.ts';
import { TEST_SESSION_SECRET } from './helper.ts';

const root = new URL('..', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function waitForHealth(port: number, ms = 150_000) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return res;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not become healthy');
}

t.test('DATABASE_URL pointing at a server that is down: one line naming it', async (t) => {
  const port = await freePort();
  const server = startServer({
    DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/flowfix`,
    ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    SESSION_SECRET: TEST_SESSION_SECRET,
  });
  t.equal(await server.exited, 1);
  const { stderr } = server.output();
  t.match(stderr, new RegExp(`DATABASE_URL: cannot connect to 127\\.0\\.0\\.1:${port}/flowfix`));
  t.equal(stderr.trim().split('\n').length, 1, 'a single line, no stack trace');
});

t.test('ENCRYPTION_KEYS malformed: one line saying how to generate one', async (t) => {
  const server = startServer({
    ENCRYPTION_KEYS: 'k1:not-a-key',
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'ffx-srv-')),
  });
  t.equal(await server.exited, 1);
  const { stderr } = server.output();
  t.match(stderr, /^flowfix server: ENCRYPTION_KEYS: .*randomBytes\(32\)/);
  t.equal(stderr.trim().split('\n').length, 1);
  t.notMatch(stderr, /not-a-key/, 'key material is not echoed');
});

t.test('embedded defaults: serves /healthz and /admin, keeps data across a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ffx-srv-'));
  const port = await freePort();
  const env = { DATA_DIR: dataDir, PORT: String(port) };

  const first = startServer(env);
  await waitForHealth(port);
  const admin = await fetch(`http://127.0.0.1:${port}/admin`);
  t.equal(admin.status, 200);
  t.match(await admin.text(), /Embedded PGlite/);
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0, 'graceful shutdown exits 0');

  // Write a row while the server is stopped (PGlite belongs to one process at a time).
  const db1 = await openDatabase({ dataDir });
  await db1.db.insert(users).values({ githubId: 4242, login: 'octocat' });
  await db1.close();

  const second = startServer(env);
  await waitForHealth(port);
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);

  const db2 = await openDatabase({ dataDir });
  const rows = await db2.db.select().from(users);
  await db2.close();
  t.same(
    rows.map((r) => r.login),
    ['octocat'],
    'the data is still there after a restart',
  );
});
