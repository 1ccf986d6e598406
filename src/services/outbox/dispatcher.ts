// Moves outbox rows onto the job queue. Polls every intervalMs and also right after a
// commit rings the outbox doorbell. Each pass claims a batch with FOR UPDATE SKIP LOCKED
// (several dispatchers never take the same row), enqueues each row with its job key as
// the job id, and marks it dispatched in the same transaction.
//
// When the queue is unreachable (Redis down) the failing row records the attempt and the
// error and is postponed with exponential backoff, and this dispatcher pauses for as long:
// nothing is lost and a dead Redis is not hammered. A row enqueued just before a crash
// (before its transaction committed) is enqueued again later under the same job id, which
// the queue de-duplicates and the processors tolerate.
import type { Db } from '../../db/client.ts';
import { createOutboxStore, type OutboxRow } from '../../db/stores/outbox-store.ts';
import { JOB_NAMES, invalidJobIdReason, type JobName, type JobQueue } from '../../jobs/types.ts';
import { onOutboxNotify } from './outbox-signal.ts';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OutboxDispatcherOptions {
  db: Db;
  queue: JobQueue;
  log: Logger;
  /** Poll interval when idle. */
  intervalMs?: number;
  batchSize?: number;
  /** An enqueue that takes longer counts as failed (a hung Redis connection). */
  enqueueTimeoutMs?: number;
  /** First retry delay after a failure; doubles per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  now?: () => Date;
}

export interface OutboxDispatcher {
  /** Starts polling and listening for the doorbell. */
  start(): void;
  /** Stops polling and waits for a pass in progress to finish. */
  stop(): Promise<void>;
  /** Look at the outbox soon (coalesced; ignored while backing off after a failure). */
  poke(): void;
  /** One full pass now: dispatches due rows until none are left or the queue fails. */
  drain(): Promise<{ dispatched: number; failed: boolean }>;
}

const POKE_DELAY_MS = 10;
// A doorbell can ring before the writer's transaction is visible (the hook rings from
// inside it): a few quick extra looks catch the commit without waiting for the poll.
const EAGER_LOOKS = 3;
const EAGER_DELAY_MS = 50;
const UNQUEUEABLE_DELAY_MS = 3600_000;

export function retryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

function isJobName(topic: string): topic is JobName {
  return (JOB_NAMES as readonly string[]).includes(topic);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`enqueue took longer than ${ms} ms`)), ms);
    }),
  ]);
}

export function createOutboxDispatcher(opts: OutboxDispatcherOptions): OutboxDispatcher {
  const intervalMs = opts.intervalMs ?? 500;
  const batchSize = opts.batchSize ?? 50;
  const enqueueTimeoutMs = opts.enqueueTimeoutMs ?? 5000;
  const retryBaseMs = opts.retryBaseMs ?? 1000;
  const retryMaxMs = opts.retryMaxMs ?? 60_000;
  const now = opts.now ?? (() => new Date());
  const store = createOutboxStore(opts.db);

  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let pokedWhileRunning = false;
  let failures = 0;
  let eagerLooks = 0;
  let unsubscribe: (() => void) | undefined;

  async function enqueueRow(row: OutboxRow & { topic: JobName }): Promise<void> {
    await withTimeout(
      opts.queue.enqueue(row.topic, row.payload as never, { jobId: row.jobKey }),
      enqueueTimeoutMs,
    );
  }

  /** One batch; `failed` when the queue refused a row (the rest wait for the next pass). */
  async function passOnce(): Promise<{ claimed: number; dispatched: number; failed: boolean }> {
    let claimed = 0;
    let failed = false;
    const done: number[] = [];
    await opts.db.transaction(async (tx) => {
      const rows = await store.claimDue(batchSize, now(), tx);
      claimed = rows.length;
      for (const row of rows) {
        // A row no queue can take (a bug, not an outage): set aside, the others go on.
        const refusal = isJobName(row.topic)
          ? invalidJobIdReason(row.jobKey)
          : `unknown topic "${row.topic}"`;
        if (refusal) {
          opts.log.error(
            { outboxId: row.id, topic: row.topic, err: refusal },
            'outbox row cannot be queued',
          );
          await store.markFailed(
            row.id,
            refusal,
            new Date(now().getTime() + UNQUEUEABLE_DELAY_MS),
            tx,
          );
          continue;
        }
        try {
          await enqueueRow(row as OutboxRow & { topic: JobName });
          done.push(row.id);
        } catch (err) {
          failed = true;
          const message = ((err as Error).message || String(err)).slice(0, 500);
          const delay = retryDelay(row.attempts + 1, retryBaseMs, retryMaxMs);
          await store.markFailed(row.id, message, new Date(now().getTime() + delay), tx);
          opts.log.warn(
            {
              outboxId: row.id,
              jobKey: row.jobKey,
              attempts: row.attempts + 1,
              retryInMs: delay,
              err: message,
            },
            'could not move an outbox row onto the queue; will retry',
          );
          break;
        }
      }
      await store.markDispatched(done, now(), tx);
    });
    return { claimed, dispatched: done.length, failed };
  }

  async function drain(): Promise<{ dispatched: number; failed: boolean }> {
    let dispatched = 0;
    for (;;) {
      const pass = await passOnce();
      dispatched += pass.dispatched;
      if (pass.failed) return { dispatched, failed: true };
      if (pass.claimed < batchSize || stopped) return { dispatched, failed: false };
    }
  }

  function schedule(delay: number) {
    if (stopped || !started) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
    timer.unref?.();
  }

  function run() {
    if (stopped) return;
    if (running) {
      pokedWhileRunning = true;
      return;
    }
    pokedWhileRunning = false;
    let dispatched = 0;
    running = (async () => {
      let failed: boolean;
      try {
        const result = await drain();
        failed = result.failed;
        dispatched = result.dispatched;
        if (result.dispatched > 0 && failures > 0) {
          opts.log.info({ afterFailures: failures }, 'outbox dispatch recovered');
        }
      } catch (err) {
        // The database itself failed: the rows are still there, try again later.
        failed = true;
        opts.log.error({ err: (err as Error).message }, 'outbox dispatch pass failed');
      }
      failures = failed ? failures + 1 : 0;
    })();
    void running.finally(() => {
      running = undefined;
      if (dispatched > 0) eagerLooks = 0;
      if (failures > 0) schedule(retryDelay(failures, retryBaseMs, retryMaxMs));
      else if (pokedWhileRunning) schedule(0);
      else if (eagerLooks > 0) {
        eagerLooks -= 1;
        schedule(EAGER_DELAY_MS);
      } else schedule(intervalMs);
    });
  }

  function poke() {
    if (stopped || !started || failures > 0) return;
    eagerLooks = EAGER_LOOKS;
    if (running) pokedWhileRunning = true;
    else schedule(POKE_DELAY_MS);
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      unsubscribe = onOutboxNotify(poke);
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      unsubscribe?.();
      await running;
    },
    poke,
    drain,
  };
}
