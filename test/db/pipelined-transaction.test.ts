import { sql } from 'drizzle-orm';
import t from 'tap';
import {
  atOnce,
  connectionLost,
  pipelinedTransaction,
} from '../../src/db/pipelined-transaction.ts';
import { driverRows } from '../../src/db/stores/workflow-runs-store.ts';
import type { Db } from '../../src/db/client.ts';
import { createTestDatabase, testDatabase } from '../helper.ts';

const rowsOf = async (db: Db, query: ReturnType<typeof sql>) =>
  driverRows(await db.execute(query)) as Array<Record<string, unknown>>;

t.test('commits what fn wrote, in one transaction, on either driver', async (t) => {
  const { db } = await testDatabase();
  await db.execute(sql`create table if not exists pipelined_probe (v text)`);
  const ids = await pipelinedTransaction(db, async (tx) => {
    await tx.execute(sql`insert into pipelined_probe values ('committed')`);
    const [a] = await rowsOf(tx, sql`select pg_current_xact_id()::text as id`);
    const [b] = await rowsOf(tx, sql`select pg_current_xact_id()::text as id`);
    return [a?.['id'], b?.['id']];
  });
  t.equal(ids[0], ids[1], 'both statements ran in the same transaction');
  const rows = await rowsOf(db, sql`select v from pipelined_probe where v = 'committed'`);
  t.equal(rows.length, 1);
});

t.test('an error thrown by fn rolls everything back and reaches the caller', async (t) => {
  const { db } = await testDatabase();
  await db.execute(sql`create table if not exists pipelined_probe (v text)`);
  await t.rejects(
    pipelinedTransaction(db, async (tx) => {
      await tx.execute(sql`insert into pipelined_probe values ('rolled back')`);
      throw new Error('changed my mind');
    }),
    { message: 'changed my mind' },
  );
  t.same(await rowsOf(db, sql`select v from pipelined_probe where v = 'rolled back'`), []);
  // The connection went back to the pool clean: the next transaction works.
  t.equal(await pipelinedTransaction(db, async () => 'next'), 'next');
});

const onPostgres = {
  skip: process.env.TEST_DATABASE_URL
    ? false
    : 'PGlite takes db.transaction; set TEST_DATABASE_URL to run this on Postgres',
};

t.test(
  'on Postgres a failed statement fn swallowed still fails the commit',
  onPostgres,
  async (t) => {
    const { db } = await testDatabase();
    await db.execute(sql`create table if not exists pipelined_probe (v text)`);
    await t.rejects(
      pipelinedTransaction(db, async (tx) => {
        await tx.execute(sql`insert into pipelined_probe values ('lost')`);
        await tx.execute(sql`select 1 / 0`).catch(() => {});
      }),
      /ROLLBACK instead of COMMIT/,
    );
    t.same(await rowsOf(db, sql`select v from pipelined_probe where v = 'lost'`), []);
  },
);

t.test(
  'on Postgres transactions run side by side, each on its own connection',
  onPostgres,
  async (t) => {
    const { db } = await testDatabase();
    const backends = await Promise.all(
      [1, 2, 3].map(() =>
        pipelinedTransaction(db, async (tx) => {
          const [row] = await rowsOf(tx, sql`select pg_backend_pid() as pid, pg_sleep(0.05)`);
          return row?.['pid'];
        }),
      ),
    );
    t.equal(new Set(backends).size, 3);
  },
);

t.test('on Postgres the database is unusable once the transaction ended', onPostgres, async (t) => {
  const { db } = await testDatabase();
  let kept: Db | undefined;
  await pipelinedTransaction(db, async (tx) => {
    kept = tx;
  });
  const error = await Promise.resolve(kept!.execute(sql`select 1`)).catch((e: unknown) => e);
  // Drizzle wraps the driver's error in its own "Failed query".
  t.match((error as Error).cause, { message: /used after it ended/ });
});

t.test('atOnce: JSON text long enough for postgres.js to send without waiting', async (t) => {
  const json = JSON.stringify([{ a: 1 }]);
  t.ok(atOnce(json).length >= 1024);
  t.same(JSON.parse(atOnce(json)), [{ a: 1 }]);
  const long = JSON.stringify('x'.repeat(5000));
  t.equal(atOnce(long), long, 'long text is left alone');
});

t.test(
  'connectionLost: postgres.js and SQLSTATE codes, also under Drizzle’s wrapper',
  async (t) => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    t.ok(connectionLost(coded('CONNECTION_CLOSED')));
    t.ok(connectionLost(coded('ECONNRESET')));
    t.ok(connectionLost(coded('57P01')), 'terminated by an administrator');
    t.ok(connectionLost(coded('08006')), 'connection failure');
    t.ok(connectionLost(new Error('Failed query', { cause: coded('CONNECTION_DESTROYED') })));
    t.notOk(connectionLost(coded('23505')), 'a unique violation leaves the connection usable');
    t.notOk(connectionLost(new Error('a hook failed')));
    t.notOk(connectionLost('not an error'));
  },
);

t.test(
  'on Postgres a connection lost mid-transaction fails it and spares the pool',
  onPostgres,
  async (t) => {
    const { db } = await testDatabase();
    const error = await pipelinedTransaction(db, async (tx) => {
      const [row] = await rowsOf(tx, sql`select pg_backend_pid() as pid`);
      // Another connection ends this one's backend, as a restart or an administrator would,
      // while a statement of the transaction is running.
      const sleeping = rowsOf(tx, sql`select pg_sleep(5)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await db.execute(sql`select pg_terminate_backend(${Number(row?.['pid'])})`);
      await sleeping;
    }).catch((e: unknown) => e);
    t.ok(connectionLost(error), 'the caller hears the connection was lost');
    // Nothing broken was given back: no hang, nothing thrown outside a promise. (The first
    // transactions after it may still hear the termination, 57P01, as with postgres.js's own
    // begin(); the pool then reconnects.)
    const batch = () =>
      Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          pipelinedTransaction(db, async (tx) => rowsOf(tx, sql`select ${i}::int as i`)),
        ),
      );
    const first = await batch();
    t.ok(first.every((r) => r.status === 'fulfilled' || connectionLost(r.reason)));
    const second = await batch();
    t.same(
      second.map((r) => (r.status === 'fulfilled' ? r.value[0]?.['i'] : r.reason)),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  },
);

t.test(
  'on Postgres no connection free in time: begin()’s path, then the pool is whole',
  onPostgres,
  async (t) => {
    const { db } = await createTestDatabase(t, { poolSize: 1 });
    const transaction = db.transaction.bind(db);
    let fallbacks = 0;
    db.transaction = ((...args: Parameters<Db['transaction']>) => {
      fallbacks += 1;
      return transaction(...args);
    }) as Db['transaction'];
    // The only connection is busy for a while (sent now: Drizzle's queries are lazy).
    const busy = rowsOf(db, sql`select pg_sleep(0.3)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await pipelinedTransaction(
      db,
      async (tx) => rowsOf(tx, sql`select 'fallback' as v`),
      { waitMs: 20 },
    );
    await busy;
    t.same(result, [{ v: 'fallback' }]);
    t.equal(fallbacks, 1, 'begin()’s path, once the wait was over');
    // The reservation that came late was released: the single connection still serves.
    t.equal(await pipelinedTransaction(db, async () => 'again'), 'again');
    t.equal(fallbacks, 1, 'and the next transaction reserves again');
    t.same(await rowsOf(db, sql`select 1 as one`), [{ one: 1 }]);
  },
);
