// "Analyse again": a fresh outbox row (a new job key, so it is never de-duplicated away)
// written with a timeline event in one transaction; the dispatcher is rung after commit.
import type { Db } from '../../db/client.ts';
import { createIncidentsStore } from '../../db/stores/incidents-store.ts';
import { errors } from '../../errors.ts';
import { notifyOutbox } from '../outbox/outbox-signal.ts';
import { writeOutbox } from '../outbox/write-outbox.ts';
import { manualAnalyseJobKey } from './job-keys.ts';

export async function requestIncidentAnalysis(
  db: Db,
  req: { userId: string; actor: string; incidentId: string; now?: Date },
): Promise<{ jobKey: string }> {
  const jobKey = manualAnalyseJobKey(req.incidentId, req.now);
  await db.transaction(async (tx) => {
    const store = createIncidentsStore(tx);
    const incident = await store.lockById(req.incidentId, tx);
    if (!incident || incident.userId !== req.userId) throw new errors.NOT_FOUND('Incident');
    await writeOutbox(tx, {
      topic: 'analyse-incident',
      jobKey,
      payload: { incidentId: incident.id, reason: 'manual' },
    });
    await store.update(incident.id, { analysisStatus: 'pending', analysisError: null }, tx);
    await store.addEvent(
      { incidentId: incident.id, kind: 'analysis_requested', actor: req.actor, data: { jobKey } },
      tx,
    );
  });
  notifyOutbox();
  return { jobKey };
}
