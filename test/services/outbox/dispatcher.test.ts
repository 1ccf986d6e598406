// The outbox dispatcher: rows reach the queue once, under their job key; while the queue
// is down nothing is lost (attempts and errors are recorded, rows back off) and everything
// goes through once it is back; several dispatchers never enqueue a row twice.
import { asc } from 'drizzle-orm';
import t from 'tap';
import type { Db } from '../../../src/db/client.ts';
import { outbox } from '../../../src/db/schema/index.ts';
import type { JobQueue } from '../../../src/jobs/types.ts';
import { createOutboxDispatcher, retryDelay } from '../../../src/services/outbox/dispatcher.ts';
import { notifyOutbox } from '../../../src/services/outbox/outbox-signal.ts';
import { writeOutbox } from '../../../src/services/outbox/write-outbox.ts';
import { testDatabase } from '../../helper.ts';

const silent = { info() {}, warn() {}, error() {} };

/** A queue that records what it is given and can be "down" (enqueue throws, as with Redis gone). */
function flakyQueue() {
  const enqueued: Array<{ name: string; jobId: string; data: unknown }> = [];
  const state = { down: false, hang: false, calls: 0 };
  const queue: JobQueue = {
    kind: 'bullmq',
    async enqueue(name, data, opts) {
      state.calls++;
      if (state.hang) await new Promise(() => {});
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      enqueued.push({ name, jobId: opts.jobId, data });
    },
    async ping() {},
    async idle() {},
    async close() {},
  };
  return { queue, enqueued, state };
}

async function reset(db: Db) {
  await db.delete(outbox);
}

async function write(db: Db, keys: string[]) {
  for (const key of keys) {
    await writeOutbox(db, {
      topic: 'analyse-incident',
      jobKey: key,
      payload: { incidentId: key, reason: 'test' },
    });
  }
}

function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await check()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 20);
    };
    void tick();
  });
}

t.test('rows go onto the queue once, in order, with their job key as the job id', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, enqueued } = flakyQueue();
  await write(db, ['k-1', 'k-2', 'k-3']);
  t.equal(
    await writeOutbox(db, {
      topic: 'analyse-incident',
      jobKey: 'k-2',
      payload: { incidentId: 'x', reason: 'dup' },
    }),
    false,
    'a waiting row with the same key is not written twice',
  );
  const dispatcher = createOutboxDispatcher({ db, queue, log: silent, batchSize: 2 });
  t.same(await dispatcher.drain(), { dispatched: 3, failed: false }, 'batches until empty');
  t.same(
    enqueued.map((e) => [e.name, e.jobId]),
    [
      ['analyse-incident', 'k-1'],
      ['analyse-incident', 'k-2'],
      ['analyse-incident', 'k-3'],
    ],
  );
  t.same(enqueued[0]!.data, { incidentId: 'k-1', reason: 'test' });
  const rows = await db.select().from(outbox);
  t.ok(rows.every((r) => r.dispatchedAt !== null));
  t.same(await dispatcher.drain(), { dispatched: 0, failed: false });
  t.equal(enqueued.length, 3);
});

t.test('queue down: attempts and errors recorded, rows back off, nothing lost', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, enqueued, state } = flakyQueue();
  await write(db, ['d-1', 'd-2']);
  // The dispatcher's clock runs a little ahead of the rows' insertion time.
  let clock = Date.now() + 100;
  const dispatcher = createOutboxDispatcher({
    db,
    queue,
    log: silent,
    retryBaseMs: 1000,
    now: () => new Date(clock),
  });
  state.down = true;
  t.same(await dispatcher.drain(), { dispatched: 0, failed: true });
  let rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  t.equal(rows[0]!.attempts, 1);
  t.match(rows[0]!.lastError, /ECONNREFUSED/);
  t.equal(rows[0]!.availableAt.getTime(), clock + 1000);
  t.equal(rows[0]!.dispatchedAt, null);
  t.equal(rows[1]!.attempts, 0, 'the pass stops at the first refusal');

  // The failing row waits; the other one is tried (and fails) next.
  t.same(await dispatcher.drain(), { dispatched: 0, failed: true });
  rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  t.same(
    rows.map((r) => r.attempts),
    [1, 1],
  );
  clock += 1000;
  await dispatcher.drain();
  rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  t.equal(rows[0]!.attempts, 2);
  t.equal(rows[0]!.availableAt.getTime(), clock + 2000, 'exponential backoff');

  state.down = false;
  clock += 10_000;
  t.same(await dispatcher.drain(), { dispatched: 2, failed: false });
  t.same(enqueued.map((e) => e.jobId).sort(), ['d-1', 'd-2']);
  rows = await db.select().from(outbox);
  t.ok(rows.every((r) => r.dispatchedAt !== null && r.lastError === null));
  t.equal(retryDelay(20, 1000, 60_000), 60_000, 'capped');
});

t.test('a hung enqueue counts as a failure', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, state } = flakyQueue();
  state.hang = true;
  const dispatcher = createOutboxDispatcher({ db, queue, log: silent, enqueueTimeoutMs: 50 });
  await write(db, ['h-1']);
  t.same(await dispatcher.drain(), { dispatched: 0, failed: true });
  const [row] = await db.select().from(outbox);
  t.match(row!.lastError, /longer than 50 ms/);
});

t.test(
  'an unknown topic or a job key BullMQ refuses is set aside, not retried in a loop',
  async (t) => {
    const { db } = await testDatabase();
    await reset(db);
    const { queue, enqueued } = flakyQueue();
    await db.insert(outbox).values({ topic: 'no-such-job', jobKey: 'u-1', payload: {} });
    await write(db, ['u:colon', 'u-2']);
    const dispatcher = createOutboxDispatcher({ db, queue, log: silent });
    t.same(await dispatcher.drain(), { dispatched: 1, failed: false }, 'no pause: not an outage');
    t.same(
      enqueued.map((e) => e.jobId),
      ['u-2'],
    );
    const [odd, colon] = await db.select().from(outbox).orderBy(asc(outbox.id));
    t.match(odd!.lastError, /unknown topic/);
    t.ok(odd!.availableAt.getTime() > Date.now() + 3000_000);
    t.match(colon!.lastError, /contains ':'/);
    t.ok(colon!.availableAt.getTime() > Date.now() + 3000_000);
    t.equal(colon!.dispatchedAt, null);
  },
);

t.test('running: the doorbell dispatches at once; recovery after an outage', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, enqueued, state } = flakyQueue();
  const dispatcher = createOutboxDispatcher({
    db,
    queue,
    log: silent,
    intervalMs: 60_000,
    retryBaseMs: 30,
    retryMaxMs: 100,
  });
  dispatcher.start();
  t.teardown(() => dispatcher.stop());
  await new Promise((r) => setTimeout(r, 50));

  await write(db, ['r-1']);
  const rang = Date.now();
  notifyOutbox();
  await waitFor(() => enqueued.length === 1, 2000);
  t.ok(Date.now() - rang < 1000, 'no need to wait for the poll interval');

  state.down = true;
  await write(db, ['r-2', 'r-3', 'r-4']);
  notifyOutbox();
  await waitFor(async () => (await db.select().from(outbox)).some((r) => r.attempts >= 2));
  t.equal(enqueued.length, 1, 'nothing got through while down');
  state.down = false;
  await waitFor(() => enqueued.length === 4);
  await new Promise((r) => setTimeout(r, 200));
  t.same(
    enqueued.map((e) => e.jobId),
    ['r-1', 'r-2', 'r-3', 'r-4'],
    'each exactly once, in order',
  );
});

t.test('stop() waits for the pass in progress and ends polling', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, enqueued, state } = flakyQueue();
  const dispatcher = createOutboxDispatcher({ db, queue, log: silent, intervalMs: 10 });
  dispatcher.start();
  await waitFor(() => state.calls === 0);
  await dispatcher.stop();
  await write(db, ['s-1']);
  notifyOutbox();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(enqueued.length, 0);
  dispatcher.start();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(enqueued.length, 0, 'a stopped dispatcher stays stopped');
});

t.test('several dispatchers never enqueue a row twice', async (t) => {
  const { db } = await testDatabase();
  await reset(db);
  const { queue, enqueued } = flakyQueue();
  const keys = Array.from({ length: 60 }, (_, i) => `m-${i}`);
  await write(db, keys);
  const dispatchers = Array.from({ length: 3 }, () =>
    createOutboxDispatcher({ db, queue, log: silent, batchSize: 7 }),
  );
  await Promise.all(dispatchers.map((d) => d.drain()));
  t.equal(enqueued.length, 60);
  t.same(enqueued.map((e) => e.jobId).sort(), [...keys].sort());
});
