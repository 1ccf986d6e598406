// The database handle: postgres.js when DATABASE_URL is set, PGlite (real Postgres
// compiled to WASM, persisted under DATA_DIR) when not. Both speak the same SQL, use the
// same Drizzle schema and run the same migrations.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_DIR } from '../paths.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** A database or a transaction: stores accept either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Host and port (postgres) or directory (pglite), for logs and the setup page. */
  location: string;
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = MIGRATIONS_DIR;

/** A start-up failure that deserves one clear line, not a stack trace. */
export class DatabaseConnectError extends Error {
  override name = 'DatabaseConnectError';
}

// Any number fits: several processes starting at once take turns applying migrations.
const MIGRATION_LOCK = 727_001;

export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured server';
  }
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Directory for PGlite; 'memory://' keeps it in memory (tests). */
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10)
    : openPglite(opts.dataDir);
}

async function openPostgres(url: string, max: number): Promise<DatabaseHandle> {
  const where = describePostgresUrl(url);
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    // Only constant statements are prepared (executeConstant: ingestion's hot ones, flake
    // counts); Drizzle's are planned each time. Their values are JSON documents whose rows
    // the planner cannot count, so a generic plan does about as well as a custom one — and
    // custom planning cost Postgres ~2.7 ms a group (a third of its CPU in the benchmark).
    // A generic plan made while the tables were small would scan them as they grow, though:
    // executeConstant re-prepares at 4, 16, 64 … executions.
    // No JIT: it compiles a statement's expressions at every execution, prepared or not.
    // Once workflow_jobs held ~450,000 rows, the estimated cost of ingestion's runs-and-jobs
    // statement passed jit_above_cost and each execution spent ~150 ms compiling 112
    // functions for a few milliseconds of work (auto_explain showed it). These are short
    // indexed statements; the statistics' aggregates are bounded by their time window.
    connection: { plan_cache_mode: 'auto', jit: 'off' },
  });
  try {
    await client`select 1`;
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DatabaseConnectError(
      `DATABASE_URL: cannot connect to ${where} (${reason}); is Postgres running and the URL right?`,
    );
  }
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    location: where,
    async ping() {
      await client`select 1`;
    },
    async migrate() {
      // Session-level advisory lock: needs one connection for lock, migrate and unlock.
      const single = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await single`select pg_advisory_lock(${MIGRATION_LOCK})`;
        await migratePostgres(drizzlePostgres(single), { migrationsFolder: MIGRATIONS_FOLDER });
        await single`select pg_advisory_unlock(${MIGRATION_LOCK})`;
      } finally {
        await single.end({ timeout: 5 });
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  const memory = dataDir === 'memory://';
  const dir = memory ? dataDir : join(dataDir, 'pglite');
  if (!memory) mkdirSync(dir, { recursive: true });
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (err) {
    throw new DatabaseConnectError(
      `DATA_DIR: cannot open the embedded database in ${dir} (${(err as Error).message}); is another Flowfix process using it?`,
    );
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    location: memory ? 'in memory' : dir,
    async ping() {
      await db.execute(sql`select 1`);
    },
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async close() {
      await client.close();
    },
  };
}
