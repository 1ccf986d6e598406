// The transactional outbox: rows written in the same transaction as a domain change and
// moved onto the queue by the dispatcher (services/outbox/dispatcher.ts). Claiming uses
// FOR UPDATE SKIP LOCKED so any number of dispatchers can run side by side.
import { and, asc, count, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { outbox } from '../schema/index.ts';

export type OutboxRow = typeof outbox.$inferSelect;

export interface NewOutboxRow {
  topic: string;
  jobKey: string;
  payload: Record<string, unknown>;
}

export function createOutboxStore(db: Db) {
  return {
    /**
     * Adds a row unless one with the same job key is already waiting: a redelivered event
     * that reaches the writer twice still queues one job. Returns whether a row was added.
     */
    async insert(row: NewOutboxRow, tx: Db = db): Promise<boolean> {
      const waiting = await tx
        .select({ id: outbox.id })
        .from(outbox)
        .where(and(eq(outbox.jobKey, row.jobKey), isNull(outbox.dispatchedAt)))
        .limit(1);
      if (waiting.length > 0) return false;
      await tx.insert(outbox).values(row);
      return true;
    },

    /** Locks up to `limit` due rows, oldest first, skipping rows another dispatcher holds. */
    async claimDue(limit: number, now: Date, tx: Db = db): Promise<OutboxRow[]> {
      return tx
        .select()
        .from(outbox)
        .where(and(isNull(outbox.dispatchedAt), lte(outbox.availableAt, now)))
        .orderBy(asc(outbox.id))
        .limit(limit)
        .for('update', { skipLocked: true });
    },

    async markDispatched(ids: number[], now: Date, tx: Db = db): Promise<void> {
      if (ids.length === 0) return;
      await tx
        .update(outbox)
        .set({ dispatchedAt: now, lastError: null })
        .where(inArray(outbox.id, ids));
    },

    async markFailed(id: number, error: string, availableAt: Date, tx: Db = db): Promise<void> {
      await tx
        .update(outbox)
        .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error, availableAt })
        .where(eq(outbox.id, id));
    },

    /** Rows not yet on the queue, and the oldest one's age: the dashboard shows a backlog. */
    async backlog(tx: Db = db): Promise<{ pending: number; oldest: Date | null }> {
      const [row] = await tx
        .select({ pending: count(), oldest: sql<string | null>`min(${outbox.createdAt})` })
        .from(outbox)
        .where(isNull(outbox.dispatchedAt));
      return {
        pending: Number(row?.pending ?? 0),
        oldest: row?.oldest ? new Date(row.oldest) : null,
      };
    },

    async findByJobKey(jobKey: string, tx: Db = db): Promise<OutboxRow[]> {
      return tx.select().from(outbox).where(eq(outbox.jobKey, jobKey)).orderBy(asc(outbox.id));
    },
  };
}

export type OutboxStore = ReturnType<typeof createOutboxStore>;
