// A transaction whose BEGIN is not a round trip of its own. postgres.js's begin() (and so
// Drizzle's db.transaction) waits for BEGIN's answer before sending the first statement;
// here BEGIN is written to a reserved connection and the statements follow it at once, in
// the same packet, so a short transaction — ingestion's are three round trips — spends one
// less waiting for Postgres to wake up. PGlite (one in-process connection, no round trips)
// takes db.transaction.
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { Sql, ReservedSql } from 'postgres';
import type { Db } from './client.ts';
import * as schema from './schema/index.ts';

/**
 * A Drizzle database over whichever reserved connection is lent to it: Drizzle's setup
 * (its schema's relational config) is made once per lane, not per transaction.
 */
interface Lane {
  db: Db;
  lend(connection: ReservedSql | null): void;
}

/**
 * postgres.js holds a message shorter than 1 KB until the event loop's check phase, to send
 * it with whatever follows. A statement that ends a pipeline has nothing to follow, and
 * under load that phase comes only after every request the loop is busy parsing (measured
 * at 2,500 deliveries/s: COMMIT 2.3 → 1.9 ms, and 4 % more throughput for sending the
 * incident query at once too). Long enough, it goes at once.
 */
const AT_ONCE_BYTES = 1100;

/** JSON text long enough to be sent at once (whitespace after it changes nothing). */
export function atOnce(json: string): string {
  return json.padEnd(AT_ONCE_BYTES);
}

const COMMIT = `commit -- ${' '.repeat(AT_ONCE_BYTES)}`;

const idleLanes = new WeakMap<Sql, Lane[]>();

function laneFor(client: Sql): Lane {
  const idle = idleLanes.get(client) ?? [];
  idleLanes.set(client, idle);
  const reused = idle.pop();
  if (reused) return reused;
  let current: ReservedSql | null = null;
  const borrowed = () => {
    if (!current) throw new Error('pipelined transaction: used after it ended');
    return current;
  };
  // What Drizzle's postgres-js session calls: unsafe() for every statement, and the
  // client's options (its parsers and serializers) once, at construction.
  const proxy = {
    options: client.options,
    unsafe: (...args: Parameters<Sql['unsafe']>) => borrowed().unsafe(...args),
  };
  const db = drizzlePostgres(proxy as unknown as Sql, { schema }) as unknown as Db;
  return {
    db,
    lend(connection) {
      current = connection;
    },
  };
}

/** The postgres.js client behind a Drizzle database; null for PGlite. */
function postgresClientOf(db: Db): Sql | null {
  const client = (db as unknown as { $client?: Partial<Sql> }).$client;
  return typeof client?.reserve === 'function' ? (client as Sql) : null;
}

export async function pipelinedTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const client = postgresClientOf(db);
  if (!client) return db.transaction(fn);
  const connection = await client.reserve();
  const lane = laneFor(client);
  lane.lend(connection);
  try {
    // Sent now, ahead of fn's first statement; a failed BEGIN fails that statement too.
    const begun = connection.unsafe('begin').execute();
    begun.catch(() => {});
    let result: T;
    try {
      result = await fn(lane.db);
      await begun;
    } catch (error) {
      await connection.unsafe('rollback').catch(() => {});
      throw error;
    }
    // COMMIT of a transaction a statement failed in answers ROLLBACK, not an error.
    const committed = await connection.unsafe(COMMIT);
    if (committed.command !== 'COMMIT') {
      throw new Error(`pipelined transaction: ${committed.command} instead of COMMIT`);
    }
    return result;
  } finally {
    lane.lend(null);
    idleLanes.get(client)!.push(lane);
    connection.release();
  }
}
