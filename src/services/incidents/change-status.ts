// Manual lifecycle changes (API PATCH and the incident page): acknowledge, resolve
// (resolved_by manual), ignore, reopen, or just add a note. Each change is one timeline
// event carrying the note and who made it.
import type { Db } from '../../db/client.ts';
import {
  createIncidentsStore,
  type Incident,
  type IncidentPatch,
  type IncidentStatus,
} from '../../db/stores/incidents-store.ts';
import { errors } from '../../errors.ts';

export const MAX_NOTE_LENGTH = 2000;

export interface StatusChange {
  userId: string;
  /** Who did it, for the timeline (the user's login). */
  actor: string;
  incidentId: string;
  status?: IncidentStatus | undefined;
  note?: string | undefined;
  now?: Date;
}

const EVENT_FOR: Record<IncidentStatus, string> = {
  open: 'reopened',
  acknowledged: 'acknowledged',
  resolved: 'resolved',
  ignored: 'ignored',
};

export async function changeIncidentStatus(db: Db, change: StatusChange): Promise<Incident> {
  const note = change.note?.trim() ? change.note.trim() : undefined;
  if (change.status === undefined && note === undefined) {
    throw new errors.BAD_REQUEST('Give a status, a note, or both');
  }
  if (note !== undefined && note.length > MAX_NOTE_LENGTH) {
    throw new errors.BAD_REQUEST(`A note is at most ${MAX_NOTE_LENGTH} characters`);
  }
  const now = change.now ?? new Date();
  return db.transaction(async (tx) => {
    const store = createIncidentsStore(tx);
    const current = await store.lockById(change.incidentId, tx);
    if (!current || current.userId !== change.userId) throw new errors.NOT_FOUND('Incident');
    const to = change.status;
    if (to === undefined || to === current.status) {
      if (note !== undefined) {
        await store.addEvent(
          { incidentId: current.id, kind: 'note', actor: change.actor, note },
          tx,
        );
        return store.update(current.id, {}, tx);
      }
      return current;
    }
    const patch: IncidentPatch = { status: to };
    if (to === 'acknowledged') patch.acknowledgedAt = now;
    if (to === 'resolved') Object.assign(patch, { resolvedAt: now, resolvedBy: 'manual' });
    if (to === 'open')
      Object.assign(patch, { resolvedAt: null, resolvedBy: null, acknowledgedAt: null });
    if (to === 'ignored') Object.assign(patch, { resolvedAt: null, resolvedBy: null });
    const updated = await store.update(current.id, patch, tx);
    await store.addEvent(
      {
        incidentId: current.id,
        kind: EVENT_FOR[to],
        actor: change.actor,
        note: note ?? null,
        data: { from: current.status, to, ...(to === 'resolved' ? { resolvedBy: 'manual' } : {}) },
      },
      tx,
    );
    return updated;
  });
}
