// Writes a job request into the outbox inside the caller's transaction: the job exists if
// and only if the domain change commits. The dispatcher moves it onto the queue.
import type { Db } from '../../db/client.ts';
import { createOutboxStore } from '../../db/stores/outbox-store.ts';
import type { JobName, JobPayloads } from '../../jobs/types.ts';

export interface OutboxRequest<N extends JobName> {
  topic: N;
  /** The queue job id: derived from domain ids so the same request is queued once. */
  jobKey: string;
  payload: JobPayloads[N];
}

/** False when a row with this job key is already waiting to be dispatched. */
export async function writeOutbox<N extends JobName>(
  tx: Db,
  request: OutboxRequest<N>,
): Promise<boolean> {
  return createOutboxStore(tx).insert({
    topic: request.topic,
    jobKey: request.jobKey,
    payload: request.payload as unknown as Record<string, unknown>,
  });
}
