// The same behaviour is required of both backends: retries with backoff, permanent
// failures, rate-limit postponement without spending an attempt, and job-id dedupe. And
// BullMQ with Redis unreachable: one log line per failure, nothing on stderr, a prompt close.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t from 'tap';
import {
  createBullmqQueue,
  redisErrorListener,
  startBullmqWorkers,
} from '../../src/jobs/bullmq-queue.ts';
import { createInProcessQueue } from '../../src/jobs/in-process-queue.ts';
import {
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  backoffDelay,
  type JobQueue,
  type Processors,
} from '../../src/jobs/types.ts';
import { captureStderr, dropRedisKeysWhenDone, needsRedis, redisUrl } from '../helper.ts';
import { freePort } from '../services/repositories/github-fixtures.ts';
import { redisProxy } from '../support/redis-proxy.ts';

const silent = { info() {}, warn() {}, error() {} };

interface Backend {
  queue: JobQueue;
  close(): Promise<void>;
  /** close() tells running jobs to stop (and keeps them for later: `kept`). */
  stopsJobs: boolean;
  kept(jobId: string): Promise<boolean>;
}
type Factory = (processors: Processors) => Backend;

function waitFor(check: () => boolean, ms = 15_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

function suite(name: string, make: Factory, opts: { skip: string | false }) {
  t.test(name, { skip: opts.skip }, async (t) => {
    t.test('retries a failing job until it succeeds, with increasing attempts', async (t) => {
      const attempts: number[] = [];
      const backend = make({
        'prune-data': async (_d, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error('transient');
        },
      });
      t.teardown(() => backend.close());
      await backend.queue.enqueue(
        'prune-data',
        {},
        { jobId: `retry-${randomBytes(4).toString('hex')}` },
      );
      await waitFor(() => attempts.length === 3);
      await backend.queue.idle();
      t.same(attempts, [1, 2, 3]);
    });

    t.test('gives up after the policy attempts', async (t) => {
      let calls = 0;
      const backend = make({
        'prune-data': async () => {
          calls++;
          throw new Error('always');
        },
      });
      t.teardown(() => backend.close());
      await backend.queue.enqueue(
        'prune-data',
        {},
        { jobId: `fail-${randomBytes(4).toString('hex')}` },
      );
      await waitFor(() => calls === JOB_POLICY.attempts);
      await new Promise((r) => setTimeout(r, 300));
      t.equal(calls, JOB_POLICY.attempts);
    });

    t.test('an unrecoverable error is not retried', async (t) => {
      let calls = 0;
      const backend = make({
        'prune-data': async () => {
          calls++;
          throw new UnrecoverableJobError('GitHub said 404');
        },
      });
      t.teardown(() => backend.close());
      await backend.queue.enqueue(
        'prune-data',
        {},
        { jobId: `unrec-${randomBytes(4).toString('hex')}` },
      );
      await waitFor(() => calls === 1);
      await new Promise((r) => setTimeout(r, 300));
      t.equal(calls, 1);
    });

    t.test('retry-later postpones without spending an attempt', async (t) => {
      const seen: Array<{ attempt: number; at: number }> = [];
      const backend = make({
        'prune-data': async (_d, ctx) => {
          seen.push({ attempt: ctx.attempt, at: Date.now() });
          if (seen.length === 1) throw new RetryLaterError(400);
        },
      });
      t.teardown(() => backend.close());
      await backend.queue.enqueue(
        'prune-data',
        {},
        { jobId: `later-${randomBytes(4).toString('hex')}` },
      );
      await waitFor(() => seen.length === 2);
      t.equal(seen[1]!.attempt, 1, 'same attempt number');
      t.ok(seen[1]!.at - seen[0]!.at >= 350, 'waited as asked');
    });

    t.test('the same job id is queued once', async (t) => {
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const backend = make({
        'prune-data': async () => {
          calls++;
          await gate;
        },
      });
      t.teardown(() => backend.close());
      const jobId = `dedupe-${randomBytes(4).toString('hex')}`;
      await backend.queue.enqueue('prune-data', {}, { jobId });
      await backend.queue.enqueue('prune-data', {}, { jobId });
      await waitFor(() => calls === 1);
      await backend.queue.enqueue('prune-data', {}, { jobId });
      release();
      await new Promise((r) => setTimeout(r, 300));
      t.equal(calls, 1);
      await backend.queue.ping();
    });

    t.test('job ids BullMQ refuses are refused by both backends', async (t) => {
      let calls = 0;
      const backend = make({
        'prune-data': async () => {
          calls++;
        },
      });
      t.teardown(() => backend.close());
      for (const jobId of ['prune-data:2024-06-01T10', '12345', '']) {
        await t.rejects(backend.queue.enqueue('prune-data', {}, { jobId }), UnrecoverableJobError);
      }
      await new Promise((r) => setTimeout(r, 100));
      t.equal(calls, 0, 'nothing ran');
    });

    t.test(
      'closing: BullMQ stops a running job and keeps it; in-process, it finishes',
      async (t) => {
        let started = false;
        let finished = false;
        let aborted = false;
        const backend: Backend = make({
          'prune-data': async (_d, ctx) => {
            started = true;
            if (backend.stopsJobs) {
              // A job that only ends when told: close() would wait for it forever otherwise.
              await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
              aborted = true;
              throw new RetryLaterError(60_000, 'interrupted by shutdown');
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
            aborted = ctx.signal.aborted;
            finished = true;
          },
        });
        const jobId = `closing-${randomBytes(4).toString('hex')}`;
        await backend.queue.enqueue('prune-data', {}, { jobId });
        await waitFor(() => started);
        await backend.close();
        if (backend.stopsJobs) {
          t.ok(aborted, 'told to stop');
          t.ok(await backend.kept(jobId), 'kept in Redis for later');
        } else {
          t.ok(finished, 'let finish');
          t.notOk(aborted, 'never told to stop');
        }
      },
    );

    t.test('a job without a processor fails permanently', async (t) => {
      const backend = make({});
      t.teardown(() => backend.close());
      await backend.queue.enqueue(
        'analyse-incident',
        { incidentId: 'x', reason: 'test' },
        { jobId: `none-${randomBytes(4).toString('hex')}` },
      );
      await backend.queue.idle();
      t.pass('no crash');
    });
  });
}

suite(
  'in-process runner',
  (processors) => {
    const queue = createInProcessQueue(processors, silent, { backoffMs: 10 });
    return { queue, close: () => queue.close(), stopsJobs: false, kept: async () => false };
  },
  { skip: false },
);

suite(
  'BullMQ',
  (processors) => {
    const prefix = `ffx-test-${randomBytes(4).toString('hex')}`;
    dropRedisKeysWhenDone(redisUrl!, prefix);
    const queue = createBullmqQueue(redisUrl!, { log: silent, prefix, backoffMs: 10 });
    const workers = startBullmqWorkers(redisUrl!, processors, silent, { prefix });
    return {
      queue,
      async close() {
        await workers.close();
        await queue.close();
      },
      stopsJobs: true,
      async kept(jobId) {
        const redis = new Redis(redisUrl!);
        try {
          return (await redis.zscore(`${prefix}:prune-data:delayed`, jobId)) !== null;
        } finally {
          redis.disconnect();
        }
      },
    };
  },
  needsRedis(),
);

t.test('backoff doubles', async (t) => {
  t.equal(backoffDelay(1, 100), 100);
  t.equal(backoffDelay(2, 100), 200);
  t.equal(backoffDelay(3, 100), 400);
  t.equal(backoffDelay(0, 100), 100);
  t.equal(backoffDelay(1), JOB_POLICY.backoff.delay);
});

t.test('a closed in-process queue refuses work', async (t) => {
  const queue = createInProcessQueue({}, silent);
  await queue.close();
  await t.rejects(queue.enqueue('prune-data', {}, { jobId: 'x' }), /closed/);
});

t.test('a Redis error is one log line; repeats are counted, not logged', async (t) => {
  const lines: Array<[object, string | undefined]> = [];
  const log = { ...silent, error: (obj: object, msg?: string) => lines.push([obj, msg]) };
  let now = 0;
  const onError = redisErrorListener(log, 'job queue: Redis error', 60_000, () => now);
  const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
  onError(refused);
  now += 2_000;
  onError(refused);
  onError(refused);
  t.same(lines, [[{ err: refused.message }, 'job queue: Redis error']]);
  onError(new Error('OOM command not allowed'));
  t.same(
    lines.at(-1),
    [{ err: 'OOM command not allowed' }, 'job queue: Redis error'],
    'another error at once',
  );
  now += 60_000;
  onError(refused);
  t.same(
    lines.at(-1),
    [{ err: refused.message, repeated: 2 }, 'job queue: Redis error'],
    'after the interval, with how many were left out',
  );
  t.equal(lines.length, 3);
});

t.test(
  'BullMQ: while Redis is down, enqueue fails within its time limit, saying why',
  needsRedis(),
  async (t) => {
    const proxy = await redisProxy(redisUrl!);
    const prefix = `ffx-test-${randomBytes(4).toString('hex')}`;
    dropRedisKeysWhenDone(redisUrl!, prefix);
    const opts = { log: silent, prefix, enqueueTimeoutMs: 300 };
    const queue = createBullmqQueue(proxy.url, opts);
    const closing: JobQueue[] = [queue];
    t.teardown(async () => {
      await proxy.up();
      await Promise.all(closing.map((q) => q.close()));
      await proxy.down();
    });
    await queue.enqueue('prune-data', {}, { jobId: 'before' });

    await proxy.down();
    const started = Date.now();
    const error = await queue.enqueue('prune-data', {}, { jobId: 'during' }).then(
      () => null,
      (err: Error & { code?: string; statusCode?: number }) => err,
    );
    t.ok(Date.now() - started < 2_000, 'it did not wait for Redis');
    t.match(error, {
      code: 'FFX_ERR_UNAVAILABLE',
      statusCode: 503,
      message: /^The job queue is unavailable: /,
    });
    // A queue first used during the outage never connected at all: the same answer.
    const late = createBullmqQueue(proxy.url, opts);
    closing.push(late);
    await t.rejects(late.enqueue('prune-data', {}, { jobId: 'late' }), {
      code: 'FFX_ERR_UNAVAILABLE',
      message: /Redis did not answer within 300 ms \(last error: .*ECONNREFUSED/,
    });

    await proxy.up();
    // ioredis reconnects on its own schedule; the same queue works again once it has.
    for (let tries = 1; ; tries++) {
      try {
        await queue.enqueue('prune-data', {}, { jobId: 'after' });
        break;
      } catch (err) {
        if (tries === 20) throw err;
      }
    }
    const redis = new Redis(redisUrl!);
    t.teardown(() => redis.disconnect());
    const job = (id: string) => redis.exists(`${prefix}:prune-data:${id}`);
    t.equal(await job('before'), 1);
    t.equal(await job('after'), 1, 'enqueue works again once Redis is back');
    await new Promise((r) => setTimeout(r, 500));
    t.equal(await job('during'), 0, 'a failed enqueue sent nothing that reached Redis later');
    t.equal(await job('late'), 0);
  },
);

t.test('Redis unreachable: logged in one line each, nothing on stderr', async (t) => {
  const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
  const lines: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  const log = {
    ...silent,
    error: (obj: Record<string, unknown>, msg?: string) => lines.push({ obj, msg }),
  };
  const stderr = captureStderr(t);

  const queue = createBullmqQueue(url, { log, prefix: 'ffx-test-down' });
  const workers = startBullmqWorkers(url, { 'prune-data': async () => {} }, log, {
    prefix: 'ffx-test-down',
  });
  await t.rejects(queue.ping());
  await waitFor(() => lines.some((l) => l.msg === 'job worker: Redis error'), 5_000);
  // Several reconnection attempts go by.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const started = Date.now();
  await Promise.all([queue.close(), workers.close()]);
  t.ok(Date.now() - started < 3_000, 'closing does not wait for Redis');

  t.same(stderr, [], 'no stack trace on stderr');
  t.same([...new Set(lines.map((l) => l.msg))].sort(), [
    'job queue: Redis error',
    'job worker: Redis error',
  ]);
  t.ok(
    lines.every(
      (l) => typeof l.obj['err'] === 'string' && /ECONNREFUSED/.test(String(l.obj['err'])),
    ),
    'the error in words, no stack',
  );
  const pairs = lines.map((l) => `${l.msg}: ${String(l.obj['err'])}`);
  t.equal(new Set(pairs).size, pairs.length, 'the same failure is logged once per source');
});
