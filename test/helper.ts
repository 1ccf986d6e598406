// Test plumbing: a fresh, migrated database per test file (Postgres at TEST_DATABASE_URL
// when set, in-memory PGlite otherwise), the real app built on it, and a check at the end
// of every file that nothing it logged contains a secret.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import tap from 'tap';
import { buildApp, rateLimitNamespace, type AppDeps } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../src/db/client.ts';

type Tap = {
  teardown(fn: () => unknown): void;
  comment(...args: unknown[]): void;
};

export const TEST_ENCRYPTION_KEYS = `test1:${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_SESSION_SECRET = 'test-session-secret-that-is-long-enough-0123456789';

/** Patterns of real credentials; the suite fails if any reaches a log line. */
export const SECRET_PATTERNS = [
  /gh[opusr]_[A-Za-z0-9]{20,}/,
  /github_pat_[A-Za-z0-9_]{20,}/,
  /sk-ant-[A-Za-z0-9_-]{10,}/,
  /sk-or-[A-Za-z0-9_-]{10,}/,
  /ffx_[A-Za-z0-9]{30,}/,
];

/**
 * This test file's BullMQ key prefix: test files run in parallel against one Redis, and
 * with a shared prefix one file's workers would take (and fail) another file's jobs.
 */
export const TEST_QUEUE_PREFIX = `ffx-test-${process.pid}-${randomBytes(4).toString('hex')}`;

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  const dataDir = mkdtempSync(join(tmpdir(), 'ffx-test-'));
  return loadConfig({
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    PUBLIC_URL: 'http://flowfix.test',
    RATE_LIMIT_PER_MINUTE: '100000',
    QUEUE_PREFIX: TEST_QUEUE_PREFIX,
    ...env,
  });
}

/**
 * Deletes a test's keys under a QUEUE_PREFIX — BullMQ's (`{prefix}:*`) and the rate
 * limiter's (`{prefix}-rl:*`) — so runs leave nothing behind in Redis.
 */
export async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // a Redis already gone has nothing left to clean
  try {
    for (const pattern of [`${prefix}:*`, `${rateLimitNamespace(prefix)}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } catch {
    // best effort
  } finally {
    redis.disconnect();
  }
}

const prefixesToDrop = new Set<string>();

/**
 * Drops a prefix's keys (dropRedisKeys) when the test file ends — after every test's
 * teardown, and even when one of those failed — once per Redis and prefix.
 */
export function dropRedisKeysWhenDone(url: string, prefix: string): void {
  const key = `${url} ${prefix}`;
  if (prefixesToDrop.has(key)) return;
  prefixesToDrop.add(key);
  tap.teardown(() => dropRedisKeys(url, prefix));
}

let shared: Promise<DatabaseHandle> | undefined;

/**
 * The test file's database: fresh and migrated on first use, shared by the file's tests
 * (an embedded PGlite takes seconds to start), dropped when the file ends.
 */
export function testDatabase(): Promise<DatabaseHandle> {
  shared ??= createTestDatabase(tap);
  return shared;
}

/** A fresh database with every migration applied, dropped when `t` ends. */
export async function createTestDatabase(
  t: Tap,
  opts: { poolSize?: number } = {},
): Promise<DatabaseHandle> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    t.teardown(() => database.close());
    return database;
  }
  const name = `ffx_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({
    databaseUrl: url.toString(),
    dataDir: 'memory://',
    poolSize: opts.poolSize ?? 5,
  });
  await database.migrate();
  t.teardown(async () => {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return database;
}

export interface LogCapture {
  lines: string[];
  stream: Writable;
  text(): string;
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream, text: () => lines.join('') };
}

/** What this process writes to stderr until the test ends (still written through). */
export function captureStderr(t: Tap): string[] {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(String(chunk));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.teardown(() => {
    process.stderr.write = write;
  });
  return chunks;
}

/** Extra values (test tokens, client secrets) that must never appear in logs. */
export const knownSecrets = new Set<string>();

/** Throws (failing the test) when a log line holds a credential. Safe in teardown. */
export function assertNoSecretsLogged(logs: LogCapture) {
  const text = logs.text();
  for (const pattern of SECRET_PATTERNS) {
    const found = pattern.exec(text);
    if (found)
      throw new Error(`a credential matching ${pattern} was logged: ${found[0].slice(0, 8)}…`);
  }
  for (const secret of knownSecrets) {
    if (text.includes(secret)) throw new Error(`a test secret was logged: ${secret.slice(0, 6)}…`);
  }
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  deps?: AppDeps;
  database?: DatabaseHandle;
}

/** The real app on a fresh database; closed, and its logs checked, when the file ends. */
export async function buildTestApp(t: Tap, opts: TestAppOptions = {}) {
  const config = testConfig(opts.env);
  const database = opts.database ?? (await testDatabase());
  const logs = captureLogs();
  const app = await buildApp(config, {
    database,
    logStream: logs.stream,
    jobBackoffMs: 10,
    ...opts.deps,
  });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    assertNoSecretsLogged(logs);
    rmSync(config.dataDir, { recursive: true, force: true });
  });
  // Once the file is done (other apps of the file may share the prefix until then).
  if (config.redisUrl) dropRedisKeysWhenDone(config.redisUrl, config.queuePrefix);
  return { app, config, database, logs };
}

export const redisUrl = process.env.REDIS_URL;

/** Skips (with how to enable) when Redis is absent, except in CI, where it must run. */
export function needsRedis(): { skip: string | false } {
  if (redisUrl) return { skip: false };
  if (process.env.CI === 'true')
    throw new Error('CI=true but REDIS_URL is not set: BullMQ tests must run in CI');
  return { skip: 'needs Redis: set REDIS_URL=redis://127.0.0.1:6379 to run the BullMQ tests' };
}
