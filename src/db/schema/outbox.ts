// Transactional outbox: rows written in the same transaction as the domain change,
// moved onto the queue by the dispatcher (services/outbox/dispatcher.ts).
import { bigserial, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, ts } from './accounts.ts';

export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** A queue job name, e.g. analyse-incident. */
    topic: text('topic').notNull(),
    /** The job id to use: derived from domain ids so a job is queued once. */
    jobKey: text('job_key').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    availableAt: ts('available_at').notNull().defaultNow(),
    dispatchedAt: ts('dispatched_at'),
    createdAt: createdAt(),
  },
  (t) => [index('outbox_pending_idx').on(t.dispatchedAt, t.availableAt, t.id)],
);
