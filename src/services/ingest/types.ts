// The ingestion contract: what a verified delivery looks like on its way in, what each one
// ends as, and the hook other areas (incident logic) plug into the same transaction.
import type { Db } from '../../db/client.ts';
import type { RepositoryConnection } from '../../db/stores/repository-connections-store.ts';
import type { WorkflowJob } from '../../db/stores/workflow-jobs-store.ts';
import type { WorkflowRun } from '../../db/stores/workflow-runs-store.ts';

/**
 * Called inside the delivery's transaction, after its runs and jobs were written, once per
 * run the commit touched (workflow_run and workflow_job events alike). `jobs` are the run's
 * stored jobs of its current attempt; `changed` says whether this commit moved the run or
 * one of its jobs forward (false for an out-of-order or repeated snapshot). A hook that
 * throws fails the transaction: the delivery is answered 500 and nothing of it is kept,
 * while the other deliveries of its group are retried on their own — so a hook may see the
 * same run twice (once in the rolled-back group) and must write only through `tx`.
 */
export interface RunRecordedHook {
  (tx: Db, event: RunRecordedEvent): Promise<void>;
  /**
   * Optional: which of a commit's events the hook needs to see (ingestion calls the hook only
   * for those), decided for all of them at once — a hook that usually has nothing to do
   * costs one query per commit instead of its full work per run. Asked with the key of every
   * run the commit writes, before the writes are answered: its statement goes out in the
   * same round trip, after them on the same connection, so it reads the runs and jobs as
   * written. A select must therefore send its one statement before its first await, as
   * executeConstant does (a Drizzle query builder's statement goes out a microtask later). The
   * predicate it answers with sees the event without its jobs: they are read only for the
   * runs some hook wants.
   */
  select?(
    tx: Db,
    runs: readonly RunKey[],
  ): Promise<(event: Omit<RunRecordedEvent, 'jobs'>) => boolean>;
}

/** A run, by the keys ingestion knows before writing it. */
export interface RunKey {
  connectionId: string;
  githubRunId: number;
}

export interface RunRecordedEvent {
  run: WorkflowRun;
  jobs: WorkflowJob[];
  connection: RepositoryConnection;
  changed: boolean;
  /** The events that touched the run in this commit. */
  events: Array<'workflow_run' | 'workflow_job'>;
}

/**
 * Where a delivery came in: a connection's own hook (with the facts of the connection that
 * never change, known from verifying it), or the app-level hook.
 */
export type DeliveryRoute =
  | { kind: 'connection'; connectionId: string; userId: string; githubRepoId: number }
  | { kind: 'app' };

/** A delivery whose signature has been verified and whose body has been parsed. */
export interface VerifiedDelivery {
  route: DeliveryRoute;
  deliveryId: string;
  event: string;
  /** The JSON text as received (the `payload` field of a form-encoded body). */
  payloadJson: string;
  payload: Record<string, unknown>;
  /** performance.now() when the request arrived, for the recorded duration. */
  startedAt: number;
  receivedAt: Date;
}

/**
 * processed / ignored: recorded and committed. duplicate: recorded before, nothing done.
 * unknown_connection: no such connection (nothing recorded). invalid: recorded as an error
 * because the payload lacks what its event needs.
 */
export type DeliveryOutcome =
  'processed' | 'ignored' | 'duplicate' | 'unknown_connection' | 'invalid';

export interface DeliveryResult {
  outcome: DeliveryOutcome;
  /** Why it was ignored or invalid, in words safe to show GitHub's delivery log. */
  reason?: string | undefined;
}
