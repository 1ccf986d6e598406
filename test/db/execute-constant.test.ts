import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { driverRows, executeConstant } from '../../src/db/stores/workflow-runs-store.ts';
import { testDatabase } from '../helper.ts';

t.test('a constant statement gives the same rows on either driver', async (t) => {
  const { db } = await testDatabase();
  const doc = JSON.stringify([{ a: 1, text: "it's $1 -- not a comment $$" }]);
  const rows = await db.transaction((tx) =>
    executeConstant(
      tx,
      `select (c->>'a')::int as a, c->>'text' as text, $2::boolean as flag
       from json_array_elements($1::text::json) c`,
      [doc, true],
    ),
  );
  t.same(rows, [{ a: 1, text: "it's $1 -- not a comment $$", flag: true }]);
});

const onPostgres = {
  skip: process.env.TEST_DATABASE_URL
    ? false
    : 'PGlite gets literals, nothing is prepared; set TEST_DATABASE_URL to run this on Postgres',
};

t.test('on Postgres it is prepared afresh after 4, 16 … executions', onPostgres, async (t) => {
  const database = await testDatabase();
  const marker = `probe_${randomUUID().replaceAll('-', '')}`;
  const text = `select $1::text as ${marker}`;
  const prepared = await database.db.transaction(async (tx) => {
    // One transaction: one connection, whose prepared statements are then listed.
    for (let i = 1; i <= 17; i++) {
      const [row] = await executeConstant(tx, text, [String(i)]);
      t.equal(row?.[marker], String(i));
    }
    return driverRows(
      await tx.execute(
        sql.raw(`select statement from pg_prepared_statements
                 where statement like '%${marker}%' and statement not like '%pg_prepared%'
                 order by prepare_time`),
      ),
    ).map((r) => String(r['statement']));
  });
  t.same(prepared, [text, `${text}\n-- plan generation 1`, `${text}\n-- plan generation 2`]);
});

t.test('on Postgres the pool runs without JIT', onPostgres, async (t) => {
  // JIT compiles at every execution: ~150 ms for ingestion's runs-and-jobs statement once its
  // tables are large enough for the planner's estimate to pass jit_above_cost.
  const { db } = await testDatabase();
  const rows = driverRows(await db.execute(sql`select current_setting('jit') as jit`));
  t.same(rows, [{ jit: 'off' }]);
});
