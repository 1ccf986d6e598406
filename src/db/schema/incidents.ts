// Incidents raised from failed runs, their occurrences and timeline, and fix attempts.
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt, users } from './accounts.ts';
import { repositoryConnections } from './repositories.ts';
import { workflowRuns } from './workflows.ts';

export interface ErrorReference {
  file: string;
  line?: number;
  column?: number;
}

export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => repositoryConnections.id, { onDelete: 'cascade' }),
    /** sha256(repository + workflow + branch + sorted failed job names) */
    fingerprint: text('fingerprint').notNull(),
    workflowId: bigint('workflow_id', { mode: 'number' }),
    workflowName: text('workflow_name'),
    branch: text('branch'),
    failedJobs: text('failed_jobs').array().notNull().default([]),
    title: text('title').notNull(),
    /** open | acknowledged | resolved | ignored */
    status: text('status').notNull().default('open'),
    /** low | medium | high | critical */
    severity: text('severity').notNull().default('medium'),
    resolvedBy: text('resolved_by'),
    occurrences: integer('occurrences').notNull().default(1),
    firstRunId: uuid('first_run_id').references(() => workflowRuns.id, { onDelete: 'set null' }),
    lastRunId: uuid('last_run_id').references(() => workflowRuns.id, { onDelete: 'set null' }),
    openedAt: ts('opened_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    acknowledgedAt: ts('acknowledged_at'),
    resolvedAt: ts('resolved_at'),
    /** pending | running | done | failed */
    analysisStatus: text('analysis_status').notNull().default('pending'),
    analysisError: text('analysis_error'),
    analysedAt: ts('analysed_at'),
    /** test | build | lint | dependency | configuration | infrastructure | unknown */
    failureType: text('failure_type'),
    summary: text('summary'),
    firstError: text('first_error'),
    references: jsonb('references').$type<ErrorReference[]>().notNull().default([]),
    logExcerpt: text('log_excerpt'),
    flaky: boolean('flaky').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('incidents_user_status_idx').on(t.userId, t.status, t.lastSeenAt),
    index('incidents_connection_fingerprint_idx').on(t.connectionId, t.fingerprint),
    index('incidents_status_idx').on(t.status),
  ],
);

export const incidentOccurrences = pgTable(
  'incident_occurrences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    runId: uuid('run_id')
      .notNull()
      .references(() => workflowRuns.id, { onDelete: 'cascade' }),
    runAttempt: integer('run_attempt').notNull().default(1),
    occurredAt: ts('occurred_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('incident_occurrences_uq').on(t.incidentId, t.runId, t.runAttempt),
    // Flaky evidence and the ingestion select look occurrences up by run attempt.
    index('incident_occurrences_run_idx').on(t.runId, t.runAttempt),
  ],
);

export const incidentEvents = pgTable(
  'incident_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    /** opened | occurrence | reopened | resolved | acknowledged | ignored | analysed | note | … */
    kind: text('kind').notNull(),
    actor: text('actor').notNull().default('system'),
    note: text('note'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('incident_events_incident_idx').on(t.incidentId, t.createdAt)],
);

export const fixAttempts = pgTable(
  'fix_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    /** queued | generating | rejected | pr_opened | verified | failed | merged | closed */
    status: text('status').notNull().default('queued'),
    provider: text('provider'),
    model: text('model'),
    branch: text('branch'),
    prNumber: integer('pr_number'),
    prUrl: text('pr_url'),
    rejectionReason: text('rejection_reason'),
    diffStats: jsonb('diff_stats').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('fix_attempts_incident_idx').on(t.incidentId)],
);
