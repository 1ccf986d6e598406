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
    const committed = await connection.unsafe('commit');
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
