// The in-process runner keeps queued jobs in memory: an analysis that was dispatched but had
// not finished when the process stopped (crash, deploy) would never run. At start-up, with
// that runner, every unfinished analysis of the last RESUME_WINDOW_DAYS is asked for again
// through the outbox. (BullMQ keeps its jobs in Redis and recovers stalled ones itself.)
import type { Db } from '../../db/client.ts';
import { createIncidentsStore } from '../../db/stores/incidents-store.ts';
import { writeOutbox } from '../outbox/write-outbox.ts';

export const RESUME_WINDOW_DAYS = 7;
const MAX_RESUMED = 500;

export function resumeJobKey(incidentId: string, occurrences: number): string {
  return `analyse-${incidentId}-${occurrences}-resumed`;
}

export async function resumeInterruptedAnalyses(db: Db, now: Date = new Date()): Promise<number> {
  const since = new Date(now.getTime() - RESUME_WINDOW_DAYS * 24 * 3600 * 1000);
  return db.transaction(async (tx) => {
    const unfinished = await createIncidentsStore(tx).unfinishedAnalyses(since, MAX_RESUMED, tx);
    let written = 0;
    for (const incident of unfinished) {
      const added = await writeOutbox(tx, {
        topic: 'analyse-incident',
        jobKey: resumeJobKey(incident.id, incident.occurrences),
        payload: { incidentId: incident.id, reason: 'resumed' },
      });
      if (added) written += 1;
    }
    return written;
  });
}
