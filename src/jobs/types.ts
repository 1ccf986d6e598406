// The job contract shared by both queue backends: job names, their payloads (ids only,
// never secrets), the processor signature, the retry policy and the two error types a
// processor throws to steer retries.

/** Job name → payload. Payloads carry domain ids; processors load everything else. */
export interface JobPayloads {
  'analyse-incident': { incidentId: string; reason: string };
  'prune-data': { olderThanDays?: number };
  'backfill-runs': { connectionId: string };
}
export type JobName = keyof JobPayloads;
export const JOB_NAMES = [
  'analyse-incident',
  'prune-data',
  'backfill-runs',
] as const satisfies readonly JobName[];

export interface JobContext {
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /**
   * Aborted when BullMQ's workers are closing (shutdown). A long job stops at its next step
   * and throws RetryLaterError: the job is kept in Redis for later without spending an
   * attempt. The in-process runner keeps nothing across a restart, so it never aborts: it
   * lets running jobs finish.
   */
  signal: AbortSignal;
}

export type Processor<N extends JobName = JobName> = (
  data: JobPayloads[N],
  ctx: JobContext,
) => Promise<void>;
export type Processors = { [N in JobName]?: Processor<N> };

/** One policy for both backends: what BullMQ does, the in-process runner does too. */
export const JOB_POLICY = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  /** Max processors running at once per job name. */
  concurrency: 4,
};

/** Delay before retry number `attempt` (1-based count of failures so far). */
export function backoffDelay(attemptsMade: number, base = JOB_POLICY.backoff.delay): number {
  return Math.round(2 ** Math.max(0, attemptsMade - 1) * base);
}

/** A failure that retrying cannot fix (GitHub 4xx, missing row): no further attempts. */
export class UnrecoverableJobError extends Error {
  override name = 'UnrecoverableJobError';
}

/** Try again after delayMs without spending an attempt (rate limits: retry-after). */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    readonly delayMs: number,
    message = `retry in ${delayMs} ms`,
  ) {
    super(message);
  }
}

/** A job stopped by shutdown runs again this long after (another worker, or the restart). */
const INTERRUPTED_RETRY_MS = 5_000;

/**
 * The job's failure as shutdown's abort — the signal aborted and this error its AbortError,
 * not some other failure meanwhile — is a RetryLaterError: kept for later (BullMQ) without
 * spending an attempt. Anything else is returned as it is.
 */
export function interruptedByShutdown(err: unknown, ctx: JobContext, what: string): unknown {
  if (ctx.signal.aborted && (err as Error | undefined)?.name === 'AbortError') {
    return new RetryLaterError(INTERRUPTED_RETRY_MS, `${what} interrupted by shutdown`);
  }
  return err;
}

/**
 * Why BullMQ would refuse `jobId` as a custom job id (it rejects ids holding ':' and ids
 * that read as integers), or null. Both backends check it, so an id only Redis would
 * refuse fails without Redis too.
 */
export function invalidJobIdReason(jobId: string): string | null {
  if (jobId === '') return 'job id is empty';
  if (jobId.includes(':')) return `job id "${jobId}" contains ':' (BullMQ refuses it; use '-')`;
  if (String(Number.parseInt(jobId, 10)) === jobId) {
    return `job id "${jobId}" is an integer (BullMQ refuses it)`;
  }
  return null;
}

export function assertValidJobId(jobId: string): void {
  const reason = invalidJobIdReason(jobId);
  if (reason) throw new UnrecoverableJobError(reason);
}

export interface EnqueueOptions {
  /** Derived from domain ids: a job with the same id is queued once. */
  jobId: string;
  delayMs?: number;
}

export interface JobQueue {
  kind: 'bullmq' | 'in-process';
  enqueue<N extends JobName>(name: N, data: JobPayloads[N], opts: EnqueueOptions): Promise<void>;
  ping(): Promise<void>;
  /** Resolves when nothing is queued or running (in-process); BullMQ: no-op. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
