// Housekeeping queries: expired sessions, webhook payloads past their retention,
// outbox rows long since dispatched.
import { and, isNotNull, lt, or } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { outbox, sessions, webhookDeliveries } from '../schema/index.ts';

export function createMaintenanceStore(db: Db) {
  return {
    async deleteExpiredSessions(now: Date, tx: Db = db): Promise<number> {
      const rows = await tx
        .delete(sessions)
        .where(lt(sessions.expiresAt, now))
        .returning({ id: sessions.id });
      return rows.length;
    },
    /** Keeps the delivery record (outcome, timing) and drops only the stored payload. */
    async dropPayloadsBefore(cutoff: Date, tx: Db = db): Promise<number> {
      const rows = await tx
        .update(webhookDeliveries)
        .set({ payloadText: null, payloadGz: null, payload: null })
        .where(
          and(
            lt(webhookDeliveries.receivedAt, cutoff),
            or(
              isNotNull(webhookDeliveries.payloadText),
              isNotNull(webhookDeliveries.payloadGz),
              isNotNull(webhookDeliveries.payload),
            ),
          ),
        )
        .returning({ id: webhookDeliveries.id });
      return rows.length;
    },
    async deleteDispatchedOutboxBefore(cutoff: Date, tx: Db = db): Promise<number> {
      const rows = await tx
        .delete(outbox)
        .where(and(isNotNull(outbox.dispatchedAt), lt(outbox.dispatchedAt, cutoff)))
        .returning({ id: outbox.id });
      return rows.length;
    },
  };
}
