// "Redis stopped while failing runs arrive → after Redis returns every analysis still runs
// exactly once", on both queue backends:
//
//   - in-process runner: the queue's enqueue throws while "down" (what the BullMQ backend
//     does when Redis refuses connections), then recovers;
//   - BullMQ: a real outage. Producer and workers reach the real Redis through a local TCP
//     proxy; stopping the proxy drops every connection and refuses new ones (as a stopped
//     Redis does), starting it again lets ioredis reconnect. The shared CI Redis itself is
//     never stopped.
//
// Plus stalled-job recovery on BullMQ: a worker that dies holding a job (after its database
// writes, before acknowledging) loses the job to another worker, and nothing is duplicated.
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { asc, eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import type { Db } from '../../src/db/client.ts';
import { incidentEvents, incidents, outbox } from '../../src/db/schema/index.ts';
import { createAnalyseIncidentProcessor } from '../../src/jobs/analyse-incident.ts';
import { createBullmqQueue, createRedis, startBullmqWorkers } from '../../src/jobs/bullmq-queue.ts';
import { createInProcessQueue } from '../../src/jobs/in-process-queue.ts';
import type { JobPayloads, JobQueue, Processor } from '../../src/jobs/types.ts';
import { createOutboxDispatcher } from '../../src/services/outbox/dispatcher.ts';
import { dropRedisKeysWhenDone, needsRedis, redisUrl, testDatabase } from '../helper.ts';
import { redisProxy } from '../support/redis-proxy.ts';
import {
  connectFixture,
  failingRun,
  githubFixture,
  type GitHubFixture,
} from '../services/incidents/github-fixture.ts';
import { ESLINT_LOG, JEST_LOG, RUNNER_LOST_LOG } from '../services/incidents/logs.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} };

function waitFor(check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await check()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 25);
    };
    void tick();
  });
}

/** Counts processor runs per job id around the real analyse-incident processor. */
function countingProcessor(db: Db, fx: GitHubFixture) {
  const calls = new Map<string, number>();
  const real = createAnalyseIncidentProcessor({ db, github: fx.github, log: silent });
  const processor: Processor<'analyse-incident'> = async (data, ctx) => {
    calls.set(ctx.jobId, (calls.get(ctx.jobId) ?? 0) + 1);
    await real(data, ctx);
  };
  return { calls, processor };
}

async function analysedEvents(db: Db, incidentId: string) {
  return db
    .select()
    .from(incidentEvents)
    .where(eq(incidentEvents.incidentId, incidentId))
    .orderBy(asc(incidentEvents.createdAt))
    .then((rows) => rows.filter((e) => e.kind === 'analysed'));
}

/** Three failing runs: two incidents, the first one failing twice. */
async function failuresDuringOutage(
  db: Db,
  fx: GitHubFixture,
  connection: Parameters<typeof failingRun>[2],
) {
  const a1 = await failingRun(db, fx, connection, [
    { name: 'test', conclusion: 'failure', log: JEST_LOG },
  ]);
  const b = await failingRun(db, fx, connection, [
    { name: 'lint', conclusion: 'failure', log: ESLINT_LOG, failedStep: 'Run npm run lint' },
  ]);
  const a2 = await failingRun(db, fx, connection, [
    { name: 'test', conclusion: 'failure', log: JEST_LOG },
  ]);
  return { a: a1.incident.id, b: b.incident.id, keys: [a1.jobKey, b.jobKey, a2.jobKey] };
}

async function expectExactlyOnce(
  t: Test,
  db: Db,
  calls: Map<string, number>,
  outage: { a: string; b: string; keys: string[] },
) {
  t.equal(new Set(outage.keys).size, 3, 'three analyses were asked for');
  t.same(
    outage.keys.map((k) => calls.get(k) ?? 0),
    [1, 1, 1],
    'each ran exactly once',
  );
  const a = (await db.select().from(incidents).where(eq(incidents.id, outage.a)))[0]!;
  const b = (await db.select().from(incidents).where(eq(incidents.id, outage.b)))[0]!;
  t.match(a, { analysisStatus: 'done', failureType: 'test', occurrences: 2 });
  t.match(b, { analysisStatus: 'done', failureType: 'lint' });
  t.equal((await analysedEvents(db, outage.a)).length, 2, 'one analysis per occurrence');
  t.equal((await analysedEvents(db, outage.b)).length, 1);
  const rows = await db.select().from(outbox);
  t.ok(
    rows.every((r) => r.dispatchedAt !== null),
    'every outbox row reached the queue',
  );
  t.ok(
    rows.some((r) => r.attempts > 0),
    'the outage was recorded on the rows',
  );
}

t.test('in-process runner: a refusing queue loses nothing, runs nothing twice', async (t) => {
  const { db } = await testDatabase();
  await db.delete(outbox);
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { calls, processor } = countingProcessor(db, fx);
  const inner = createInProcessQueue({ 'analyse-incident': processor }, silent, { backoffMs: 10 });
  const state = { down: true };
  const queue: JobQueue = {
    kind: inner.kind,
    async enqueue<N extends keyof JobPayloads>(
      name: N,
      data: JobPayloads[N],
      opts: { jobId: string },
    ) {
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      await inner.enqueue(name, data, opts);
    },
    ping: () => inner.ping(),
    idle: () => inner.idle(),
    close: () => inner.close(),
  };
  const dispatcher = createOutboxDispatcher({
    db,
    queue,
    log: silent,
    intervalMs: 50,
    retryBaseMs: 20,
    retryMaxMs: 200,
  });
  dispatcher.start();
  t.teardown(async () => {
    await dispatcher.stop();
    await inner.close();
  });

  const outage = await failuresDuringOutage(db, fx, connection);
  await waitFor(async () => (await db.select().from(outbox)).some((r) => r.attempts >= 2));
  t.equal(calls.size, 0, 'nothing ran while the queue was down');
  state.down = false;
  await waitFor(async () => (await db.select().from(outbox)).every((r) => r.dispatchedAt));
  await inner.idle();
  await new Promise((r) => setTimeout(r, 300));
  await expectExactlyOnce(t, db, calls, outage);
});

t.test(
  'BullMQ: Redis goes away while runs fail, comes back, every analysis runs once',
  needsRedis(),
  async (t) => {
    const { db } = await testDatabase();
    await db.delete(outbox);
    const fx = await githubFixture(t);
    const connection = await connectFixture(db, fx);
    const { calls, processor } = countingProcessor(db, fx);
    const proxy = await redisProxy(redisUrl!);
    const prefix = `ffx-test-${randomBytes(4).toString('hex')}`;
    dropRedisKeysWhenDone(redisUrl!, prefix);
    const queue = createBullmqQueue(proxy.url, { log: silent, prefix, backoffMs: 50 });
    const workers = startBullmqWorkers(proxy.url, { 'analyse-incident': processor }, silent, {
      prefix,
    });
    const dispatcher = createOutboxDispatcher({
      db,
      queue,
      log: silent,
      intervalMs: 100,
      enqueueTimeoutMs: 1000,
      retryBaseMs: 100,
      retryMaxMs: 500,
    });
    dispatcher.start();
    t.teardown(async () => {
      await dispatcher.stop();
      await proxy.up();
      await workers.close();
      await queue.close();
      await proxy.down();
    });

    // The path works before the outage.
    const before = await failingRun(db, fx, connection, [
      { name: 'warm-up', conclusion: 'failure', log: JEST_LOG },
    ]);
    await waitFor(() => calls.get(before.jobKey) === 1);

    await proxy.down();
    const outage = await failuresDuringOutage(db, fx, connection);
    await waitFor(async () => (await db.select().from(outbox)).some((r) => r.attempts >= 2));
    t.same(
      outage.keys.map((k) => calls.get(k) ?? 0),
      [0, 0, 0],
      'nothing ran while Redis was down',
    );
    const during = await db.select().from(outbox);
    t.match(
      during.find((r) => r.attempts >= 2)?.lastError,
      /longer than 1000 ms|ECONNREFUSED|Connection is closed|max retries/i,
    );

    await proxy.up();
    await waitFor(async () => {
      const rows = await db
        .select()
        .from(incidents)
        .where(eq(incidents.connectionId, connection.id));
      return (
        rows.every((r) => r.analysisStatus === 'done') && outage.keys.every((k) => calls.has(k))
      );
    }, 60_000);
    await waitFor(
      async () => (await db.select().from(outbox)).every((r) => r.dispatchedAt),
      30_000,
    );
    // Late duplicates would show up now: enqueues that hung during the outage and completed
    // after it, or rows re-sent after a timeout. The job ids make them no-ops.
    await new Promise((r) => setTimeout(r, 1500));
    await expectExactlyOnce(t, db, calls, outage);
    t.equal(calls.get(before.jobKey), 1);
  },
);

t.test(
  'BullMQ: a worker that dies holding a job loses it to another, nothing doubles',
  needsRedis(),
  async (t) => {
    const { db } = await testDatabase();
    await db.delete(outbox);
    const fx = await githubFixture(t);
    const connection = await connectFixture(db, fx, { autoRerunInfrastructure: true });
    const prefix = `ffx-test-${randomBytes(4).toString('hex')}`;
    dropRedisKeysWhenDone(redisUrl!, prefix);
    const queue = createBullmqQueue(redisUrl!, { log: silent, prefix });
    const real = createAnalyseIncidentProcessor({ db, github: fx.github, log: silent });
    const { incident, jobKey } = await failingRun(db, fx, connection, [
      { name: 'test', conclusion: 'failure', log: RUNNER_LOST_LOG },
    ]);
    const doomedConnection = createRedis(redisUrl!, true);
    const rescuerConnection = createRedis(redisUrl!, true);
    const runs: string[] = [];
    // The first worker does all the work, then "dies" before acknowledging the job.
    let release!: () => void;
    const dead = new Promise<void>((r) => (release = r));
    const doomed = new Worker(
      'analyse-incident',
      async (job) => {
        runs.push('doomed');
        await real(job.data as JobPayloads['analyse-incident'], {
          jobId: job.id!,
          attempt: 1,
          signal: new AbortController().signal,
          log: silent,
        });
        await dead;
      },
      { connection: doomedConnection, prefix, lockDuration: 1000, stalledInterval: 300 },
    );
    const rescuers: Worker[] = [];
    t.teardown(async () => {
      release();
      for (const w of rescuers) await w.close();
      await doomed.close();
      await queue.close();
      doomedConnection.disconnect();
      rescuerConnection.disconnect();
    });
    await queue.enqueue(
      'analyse-incident',
      { incidentId: incident.id, reason: 'opened' },
      { jobId: jobKey },
    );
    await waitFor(() => runs.length === 1);
    await waitFor(async () => (await analysedEvents(db, incident.id)).length === 1);
    await doomed.close(true); // killed: no acknowledgement, no lock renewal

    const rescuer = new Worker(
      'analyse-incident',
      async (job) => {
        runs.push('rescuer');
        await real(job.data as JobPayloads['analyse-incident'], {
          jobId: job.id!,
          attempt: job.attemptsMade + 1,
          signal: new AbortController().signal,
          log: silent,
        });
      },
      {
        connection: rescuerConnection,
        prefix,
        lockDuration: 5000,
        stalledInterval: 300,
        maxStalledCount: 2,
      },
    );
    rescuers.push(rescuer);
    await waitFor(() => runs.includes('rescuer'), 30_000);
    await waitFor(async () => await isCompleted(prefix, jobKey), 30_000);

    t.same(runs, ['doomed', 'rescuer'], 'the stalled job was run again by another worker');
    t.equal((await analysedEvents(db, incident.id)).length, 1, 'one analysed event');
    const events = await db
      .select()
      .from(incidentEvents)
      .where(eq(incidentEvents.incidentId, incident.id));
    t.equal(events.filter((e) => e.kind === 'rerun').length, 1, 'one re-run event');
    t.equal(fx.fake.counters.reruns, 1, 'GitHub was asked to re-run once');
    t.equal(
      (await db.select().from(incidents).where(eq(incidents.id, incident.id)))[0]!.analysisStatus,
      'done',
    );
  },
);

/** Whether BullMQ holds the job as completed. */
async function isCompleted(prefix: string, jobId: string): Promise<boolean> {
  const redis = new Redis(redisUrl!);
  try {
    return (await redis.zscore(`${prefix}:analyse-incident:completed`, jobId)) !== null;
  } finally {
    redis.disconnect();
  }
}
