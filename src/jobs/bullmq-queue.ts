// BullMQ backend: one queue per job name. The producer side (API process) and the
// worker side (worker.ts, or the API process when RUN_WORKERS=true) are separate.
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  JOB_NAMES,
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  type JobName,
  type JobQueue,
  type Processors,
} from './types.ts';

export const QUEUE_PREFIX = 'ffx';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function createRedis(url: string, forWorker = false): Redis {
  // Workers block on Redis: BullMQ requires maxRetriesPerRequest null for them.
  return new Redis(url, { maxRetriesPerRequest: forWorker ? null : 1, lazyConnect: false });
}

export function createBullmqQueue(
  redisUrl: string,
  opts: { prefix?: string; backoffMs?: number } = {},
): JobQueue {
  const connection = createRedis(redisUrl);
  const prefix = opts.prefix ?? QUEUE_PREFIX;
  const queues = new Map<JobName, Queue>();
  const queueFor = (name: JobName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      queues.set(name, q);
    }
    return q;
  };
  return {
    kind: 'bullmq',
    async enqueue(name, data, { jobId, delayMs }) {
      await queueFor(name).add(name, data, {
        jobId,
        delay: delayMs,
        attempts: JOB_POLICY.attempts,
        backoff: { ...JOB_POLICY.backoff, delay: opts.backoffMs ?? JOB_POLICY.backoff.delay },
        removeOnComplete: JOB_POLICY.removeOnComplete,
        removeOnFail: JOB_POLICY.removeOnFail,
      });
    },
    async ping() {
      await connection.ping();
    },
    async idle() {},
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      connection.disconnect();
    },
  };
}

export interface BullmqWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

/** Start one worker per job name that has a processor. */
export function startBullmqWorkers(
  redisUrl: string,
  processors: Processors,
  log: Logger,
  opts: { prefix?: string; concurrency?: number } = {},
): BullmqWorkers {
  const connection = createRedis(redisUrl, true);
  const workers: Worker[] = [];
  for (const name of JOB_NAMES) {
    const processor = processors[name];
    if (!processor) continue;
    const worker = new Worker(
      name,
      async (job: Job, token?: string) => {
        try {
          await (processor as (d: unknown, c: unknown) => Promise<void>)(job.data, {
            jobId: job.id ?? '',
            attempt: job.attemptsMade + 1,
            log,
          });
        } catch (err) {
          if (err instanceof RetryLaterError && token) {
            await job.moveToDelayed(Date.now() + err.delayMs, token);
            throw new DelayedError();
          }
          if (err instanceof UnrecoverableJobError) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      {
        connection,
        prefix: opts.prefix ?? QUEUE_PREFIX,
        concurrency: opts.concurrency ?? JOB_POLICY.concurrency,
        // A worker that dies mid-job: the lock expires and another worker takes it.
        lockDuration: 60_000,
        stalledInterval: 30_000,
        maxStalledCount: 2,
      },
    );
    worker.on('failed', (job, err) =>
      log.warn(
        { job: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message },
        'job failed',
      ),
    );
    worker.on('error', (err) => log.error({ job: name, err: err.message }, 'worker error'));
    workers.push(worker);
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      connection.disconnect();
    },
  };
}
