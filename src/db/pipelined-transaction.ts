// A transaction whose BEGIN is not a round trip of its own. postgres.js's begin() (and so
// Drizzle's db.transaction) waits for BEGIN's answer before sending the first statement;
// here BEGIN is written to a reserved connection and the statements follow it at once, in
// the same packet, so a short transaction — ingestion's are two round trips with it, three
// without — spends one less waiting for Postgres to wake up. PGlite (one in-process connection, no round trips)
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
  lend(loan: Loan | null): void;
}

/** A reserved connection lent to a lane for one transaction, and what became of it. */
interface Loan {
  connection: ReservedSql;
  /** One of the transaction's own statements failed because the connection is gone. */
  lost: boolean;
}

/**
 * Marks the loan lost when this statement fails for want of its connection. postgres.js
 * settles a statement through its `reject` property; wrapping that (unlike catch(), which
 * would send the statement before Drizzle has said how it wants the rows) leaves the
 * statement as it is.
 */
function watch<Q>(loan: Loan, statement: Q): Q {
  const query = statement as unknown as { reject: (error: unknown) => void };
  const reject = query.reject;
  query.reject = (error: unknown) => {
    if (connectionLost(error)) loan.lost = true;
    reject(error);
  };
  return statement;
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
  let current: Loan | null = null;
  const borrowed = () => {
    if (!current) throw new Error('pipelined transaction: used after it ended');
    return current;
  };
  // What Drizzle's postgres-js session calls: unsafe() for every statement, and the
  // client's options (its parsers and serializers) once, at construction.
  const proxy = {
    options: client.options,
    unsafe: (...args: Parameters<Sql['unsafe']>) => {
      const loan = borrowed();
      return watch(loan, loan.connection.unsafe(...args));
    },
  };
  const db = drizzlePostgres(proxy as unknown as Sql, { schema }) as unknown as Db;
  return {
    db,
    lend(loan) {
      current = loan;
    },
  };
}

/** The postgres.js client behind a Drizzle database; null for PGlite. */
function postgresClientOf(db: Db): Sql | null {
  const client = (db as unknown as { $client?: Partial<Sql> }).$client;
  return typeof client?.reserve === 'function' ? (client as Sql) : null;
}

/**
 * Errors that say a statement's connection is gone. postgres.js 3.4 has then moved the
 * connection to its reconnect list by itself; a statement sent on it, or the connection
 * released to the pool, throws outside any promise (porsager/postgres#1155).
 */
const LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Whether an error (or, as Drizzle wraps it, its cause) says the connection is gone. */
export function connectionLost(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    // SQLSTATE class 08 (connection exception), 57P01–03 (shutdown, crash, cannot connect).
    if (typeof code === 'string' && (LOST.has(code) || /^(08|57P0[123])/.test(code))) return true;
  }
  return false;
}

/** How long to wait for a connection of one's own, and for a ROLLBACK's answer. */
const WAIT_MS = 10_000;

/** Resolves with null after `ms`. */
function orNull<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]).finally(() => clearTimeout(timer));
}

export async function pipelinedTransaction<T>(
  db: Db,
  fn: (tx: Db) => Promise<T>,
  opts: { waitMs?: number } = {},
): Promise<T> {
  const client = postgresClientOf(db);
  if (!client) return db.transaction(fn);
  const waitMs = opts.waitMs ?? WAIT_MS;
  // postgres.js 3.4 can lose a reserve() that waits for a connection while another one
  // closes (porsager/postgres#1195): past the wait, this transaction takes begin()'s path
  // (one round trip more), and a connection reserved late goes straight back.
  const reserving = client.reserve();
  const connection = await orNull(reserving, waitMs);
  if (connection === null) {
    void reserving.then(
      (late) => late.release(),
      () => {},
    );
    return db.transaction(fn);
  }
  const loan: Loan = { connection, lost: false };
  const lane = laneFor(client);
  lane.lend(loan);
  /** Released when the transaction ends (unless lost); later, by a slow ROLLBACK. */
  let releaseNow = true;
  try {
    // Sent now, ahead of fn's first statement. On a connection just reserved it fails only
    // when the connection is lost, and then so does everything after it.
    const begun = watch(loan, connection.unsafe('begin')).execute();
    begun.catch(() => {});
    let result: T;
    try {
      result = await fn(lane.db);
      await begun;
    } catch (error) {
      if (!loan.lost) {
        const rollback = watch(loan, connection.unsafe('rollback')).then(
          () => true,
          () => !loan.lost,
        );
        if ((await orNull(rollback, waitMs)) === null) {
          // No answer yet (a slow server): given back once it comes, if it does.
          releaseNow = false;
          void rollback.then((alive) => alive && connection.release());
        }
      }
      throw error;
    }
    // COMMIT of a transaction a statement failed in answers ROLLBACK, not an error.
    const committed = await watch(loan, connection.unsafe(COMMIT));
    if (committed.command !== 'COMMIT') {
      throw new Error(`pipelined transaction: ${committed.command} instead of COMMIT`);
    }
    return result;
  } finally {
    lane.lend(null);
    idleLanes.get(client)!.push(lane);
    // A lost connection is already back in postgres.js's hands, to be reconnected.
    if (releaseNow && !loan.lost) connection.release();
  }
}
