// The same behaviour is required of both backends: retries with backoff, permanent
// failures, rate-limit postponement without spending an attempt, and job-id dedupe.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createBullmqQueue, startBullmqWorkers } from '../../src/jobs/bullmq-queue.ts';
import { createInProcessQueue } from '../../src/jobs/in-process-queue.ts';
import {
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  backoffDelay,
  type JobQueue,
  type Processors,
} from '../../src/jobs/types.ts';
import { needsRedis, redisUrl } from '../helper.ts';

const silent = { info() {}, warn() {}, error() {} };

interface Backend {
  queue: JobQueue;
  close(): Promise<void>;
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
    return { queue, close: () => queue.close() };
  },
  { skip: false },
);

suite(
  'BullMQ',
  (processors) => {
    const prefix = `ffx-test-${randomBytes(4).toString('hex')}`;
    const queue = createBullmqQueue(redisUrl!, { prefix, backoffMs: 10 });
    const workers = startBullmqWorkers(redisUrl!, processors, silent, { prefix });
    return {
      queue,
      async close() {
        await workers.close();
        await queue.close();
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
