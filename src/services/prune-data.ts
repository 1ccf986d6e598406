// Retention: what Flowfix keeps only for a while. Run hourly as the prune-data job.
import type { Db } from '../db/client.ts';
import { createMaintenanceStore } from '../db/stores/maintenance-store.ts';

const DAY = 24 * 3600 * 1000;

export async function pruneData(
  db: Db,
  opts: { payloadRetentionDays: number; now?: Date },
): Promise<{ sessions: number; payloads: number; outbox: number }> {
  const now = opts.now ?? new Date();
  const store = createMaintenanceStore(db);
  return {
    sessions: await store.deleteExpiredSessions(now),
    payloads: await store.dropPayloadsBefore(
      new Date(now.getTime() - opts.payloadRetentionDays * DAY),
    ),
    outbox: await store.deleteDispatchedOutboxBefore(new Date(now.getTime() - 7 * DAY)),
  };
}
