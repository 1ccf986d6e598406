// BullMQ backend: one queue per job name. The producer side (API process) and the
// worker side (worker.ts, or the API process when RUN_WORKERS=true) are separate.
// Redis failures are logged through the caller's logger, one line each (BullMQ prints an
// unheard 'error' event as a stack trace on stderr, at every reconnection attempt).
// Enqueueing fails with FFX_ERR_UNAVAILABLE when Redis does not answer within a few
// seconds: callers that must not lose a job write it to the outbox instead.
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { errors } from '../errors.ts';
import {
  JOB_NAMES,
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  assertValidJobId,
  type JobName,
  type JobQueue,
  type Processors,
} from './types.ts';

/** The default key prefix (QUEUE_PREFIX); processes sharing one must share their jobs. */
export const QUEUE_PREFIX = 'ffx';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * How long enqueue waits for Redis before it fails. BullMQ itself waits for the connection
 * forever, which would hang a request (or a dispatcher pass) for the whole outage.
 */
export const ENQUEUE_TIMEOUT_MS = 5_000;

/** While Redis stays down, the same error repeats at every reconnection attempt. */
const REPEAT_LOG_INTERVAL_MS = 60_000;

/**
 * An 'error' listener: one log line per failure, and the same failure again (every queue
 * and worker sharing a connection reports it, at every reconnection attempt) at most once
 * per interval, saying how many were left out since.
 */
export function redisErrorListener(
  log: Logger,
  msg: string,
  intervalMs = REPEAT_LOG_INTERVAL_MS,
  now: () => number = Date.now,
): (err: Error) => void {
  const seen = new Map<string, { at: number; repeated: number }>();
  return (err) => {
    const message = String(err?.message ?? err);
    const last = seen.get(message);
    if (last && now() - last.at < intervalMs) {
      last.repeated += 1;
      return;
    }
    log.error({ err: message, ...(last?.repeated ? { repeated: last.repeated } : {}) }, msg);
    seen.delete(message);
    seen.set(message, { at: now(), repeated: 0 });
    // A handful of distinct messages at most; keep the newest.
    if (seen.size > 20) seen.delete(seen.keys().next().value!);
  };
}

export function createRedis(url: string, forWorker = false): Redis {
  // Workers block on Redis: BullMQ requires maxRetriesPerRequest null for them.
  return new Redis(url, { maxRetriesPerRequest: forWorker ? null : 1, lazyConnect: false });
}

function queueUnavailable(why: string): Error {
  return new errors.UNAVAILABLE(`The job queue is unavailable: ${why}`);
}

/**
 * Resolves once `redis` is connected; rejects after `ms`, or at once when it was closed.
 * Waiting here, rather than letting a command wait, means a failed enqueue sent nothing
 * that could still reach Redis once it is back.
 */
function whenConnected(redis: Redis, ms: number, lastError: () => string | undefined) {
  if (redis.status === 'ready') return Promise.resolve();
  const unavailable = (why: string) => {
    const last = lastError();
    return queueUnavailable(`${why}${last ? ` (last error: ${last})` : ''}`);
  };
  if (redis.status === 'end') return Promise.reject(unavailable('the queue is closed'));
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(unavailable(`Redis did not answer within ${ms} ms`));
    }, ms);
    redis.once('ready', onReady);
  });
}

export interface BullmqQueueOptions {
  log: Logger;
  prefix?: string | undefined;
  backoffMs?: number | undefined;
  /** How long enqueue waits for Redis (ENQUEUE_TIMEOUT_MS); tests shorten it. */
  enqueueTimeoutMs?: number | undefined;
}

export function createBullmqQueue(redisUrl: string, opts: BullmqQueueOptions): JobQueue {
  const connection = createRedis(redisUrl);
  const prefix = opts.prefix ?? QUEUE_PREFIX;
  const enqueueTimeoutMs = opts.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS;
  const onError = redisErrorListener(opts.log, 'job queue: Redis error');
  // Queues are made on first use: until then the connection (ping) reports on its own.
  connection.on('error', onError);
  let lastError: string | undefined;
  connection.on('error', (err: Error) => (lastError = String(err?.message ?? err)));
  connection.on('ready', () => (lastError = undefined));
  const queues = new Map<JobName, Queue>();
  const queueFor = (name: JobName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      q.on('error', onError);
      queues.set(name, q);
    }
    return q;
  };
  return {
    kind: 'bullmq',
    async enqueue(name, data, { jobId, delayMs }) {
      assertValidJobId(jobId);
      const deadline = Date.now() + enqueueTimeoutMs;
      await whenConnected(connection, enqueueTimeoutMs, () => lastError);
      // Connected, yet the command can still meet a connection lost meanwhile: it fails
      // once ioredis gave up on it (maxRetriesPerRequest), or at the deadline.
      const adding = queueFor(name)
        .add(name, data, {
          jobId,
          delay: delayMs,
          attempts: JOB_POLICY.attempts,
          backoff: { ...JOB_POLICY.backoff, delay: opts.backoffMs ?? JOB_POLICY.backoff.delay },
          removeOnComplete: JOB_POLICY.removeOnComplete,
          removeOnFail: JOB_POLICY.removeOnFail,
        })
        .catch((err: Error) => {
          throw queueUnavailable(`queueing ${name} failed: ${err?.message ?? String(err)}`);
        });
      await withDeadline(adding, deadline, () =>
        queueUnavailable(`queueing ${name} took longer than ${enqueueTimeoutMs} ms`),
      );
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

/** `promise`, or `timeout()` thrown at `deadline` (a late settlement is ignored). */
function withDeadline<T>(promise: Promise<T>, deadline: number, timeout: () => Error) {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeout()), Math.max(0, deadline - Date.now()));
    }),
  ]);
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
  opts: { prefix?: string | undefined; concurrency?: number } = {},
): BullmqWorkers {
  const connection = createRedis(redisUrl, true);
  const onError = redisErrorListener(log, 'job worker: Redis error');
  connection.on('error', onError);
  const workers: Worker[] = [];
  const closing = new AbortController();
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
            signal: closing.signal,
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
    worker.on('error', onError);
    workers.push(worker);
  }
  return {
    workers,
    async close() {
      // Running jobs are told to stop (ctx.signal) and let finish their current step — unless
      // Redis is unreachable: then none of them could be acknowledged anyway (their locks
      // expire and another worker retries them), and BullMQ's graceful close would wait for
      // Redis forever.
      const force = connection.status !== 'ready';
      // Long jobs (a backfill, an analysis) stop at their next step and are moved to delayed.
      closing.abort();
      await Promise.all(workers.map((w) => w.close(force)));
      connection.disconnect();
    },
  };
}
