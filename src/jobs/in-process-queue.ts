// The in-process runner used when REDIS_URL is not set: calls the very same processors
// with the same attempts, exponential backoff, rate-limit delays and job-id dedupe as
// BullMQ. Jobs live in memory, so the outbox (not this runner) is what makes them durable.
import {
  JOB_POLICY,
  assertValidJobId,
  RetryLaterError,
  UnrecoverableJobError,
  backoffDelay,
  type EnqueueOptions,
  type JobContext,
  type JobName,
  type JobPayloads,
  type JobQueue,
  type Processors,
} from './types.ts';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const NEVER_ABORTED = new AbortController().signal;

export interface InProcessQueueOptions {
  /** Base backoff delay; tests shorten it. */
  backoffMs?: number;
}

export function createInProcessQueue(
  processors: Processors,
  log: Logger,
  options: InProcessQueueOptions = {},
): JobQueue {
  const pending = new Set<string>(); // queued, waiting or running: same id → no-op
  const timers = new Set<NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();
  const active = new Map<JobName, number>();
  const waiting = new Map<JobName, Array<() => void>>();
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const checkIdle = () => {
    if (pending.size === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const resolve of w) resolve();
    }
  };

  async function slot(name: JobName): Promise<void> {
    if ((active.get(name) ?? 0) < JOB_POLICY.concurrency) {
      active.set(name, (active.get(name) ?? 0) + 1);
      return;
    }
    await new Promise<void>((resolve) => {
      const list = waiting.get(name) ?? [];
      list.push(resolve);
      waiting.set(name, list);
    });
  }
  function release(name: JobName) {
    const next = waiting.get(name)?.shift();
    if (next) next();
    else active.set(name, (active.get(name) ?? 1) - 1);
  }

  function schedule<N extends JobName>(
    name: N,
    data: JobPayloads[N],
    jobId: string,
    attempt: number,
    delay: number,
  ) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (closed) return;
      const p = run(name, data, jobId, attempt);
      running.set(jobId, p);
      void p.finally(() => running.delete(jobId));
    }, delay);
    timers.add(timer);
  }

  async function run<N extends JobName>(
    name: N,
    data: JobPayloads[N],
    jobId: string,
    attempt: number,
  ) {
    const processor = processors[name];
    // Never aborted: nothing here outlives the process, so closing lets a running job finish
    // rather than stop it (BullMQ's workers stop theirs, which Redis keeps for later).
    const ctx: JobContext = { jobId, attempt, log, signal: NEVER_ABORTED };
    await slot(name);
    try {
      if (!processor) throw new UnrecoverableJobError(`no processor for ${name}`);
      await processor(data, ctx);
      pending.delete(jobId);
    } catch (err) {
      if (err instanceof RetryLaterError && !closed) {
        log.warn({ job: name, jobId, delayMs: err.delayMs }, 'job postponed');
        schedule(name, data, jobId, attempt, err.delayMs);
      } else if (
        !(err instanceof UnrecoverableJobError) &&
        attempt < JOB_POLICY.attempts &&
        !closed
      ) {
        log.warn(
          { job: name, jobId, attempt, err: (err as Error).message },
          'job failed, will retry',
        );
        schedule(name, data, jobId, attempt + 1, backoffDelay(attempt, options.backoffMs));
      } else {
        log.error(
          { job: name, jobId, attempt, err: (err as Error).message },
          'job failed permanently',
        );
        pending.delete(jobId);
      }
    } finally {
      release(name);
      checkIdle();
    }
  }

  return {
    kind: 'in-process',
    async enqueue(name, data, opts: EnqueueOptions) {
      if (closed) throw new Error('queue is closed');
      assertValidJobId(opts.jobId);
      if (pending.has(opts.jobId)) return;
      pending.add(opts.jobId);
      schedule(name, data, opts.jobId, 1, opts.delayMs ?? 0);
    },
    async ping() {},
    idle() {
      if (pending.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...running.values()]);
      pending.clear();
      checkIdle();
    },
  };
}
