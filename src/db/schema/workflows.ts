// Workflow runs and their jobs, as GitHub reports them through webhooks and the API.
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

export interface JobStep {
  name: string;
  status: string;
  conclusion: string | null;
  number: number;
  started_at: string | null;
  completed_at: string | null;
}

export const workflowRuns = pgTable(
  'workflow_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => repositoryConnections.id, { onDelete: 'cascade' }),
    githubRunId: bigint('github_run_id', { mode: 'number' }).notNull(),
    runAttempt: integer('run_attempt').notNull().default(1),
    runNumber: integer('run_number'),
    workflowId: bigint('workflow_id', { mode: 'number' }),
    workflowName: text('workflow_name'),
    workflowPath: text('workflow_path'),
    displayTitle: text('display_title'),
    event: text('event'),
    /** queued | in_progress | completed | waiting | requested | pending */
    status: text('status').notNull(),
    conclusion: text('conclusion'),
    headBranch: text('head_branch'),
    headSha: text('head_sha'),
    commitMessage: text('commit_message'),
    actorLogin: text('actor_login'),
    htmlUrl: text('html_url'),
    runStartedAt: ts('run_started_at'),
    githubCreatedAt: ts('github_created_at'),
    githubUpdatedAt: ts('github_updated_at'),
    completedAt: ts('completed_at'),
    durationMs: integer('duration_ms'),
    /** A job event arrived before its run: we know the run exists, little else. */
    placeholder: boolean('placeholder').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('workflow_runs_connection_run_uq').on(t.connectionId, t.githubRunId),
    index('workflow_runs_user_created_idx').on(t.userId, t.githubCreatedAt, t.id),
    index('workflow_runs_connection_created_idx').on(t.connectionId, t.githubCreatedAt, t.id),
    index('workflow_runs_workflow_branch_idx').on(t.connectionId, t.workflowId, t.headBranch),
  ],
);

export const workflowJobs = pgTable(
  'workflow_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => workflowRuns.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => repositoryConnections.id, { onDelete: 'cascade' }),
    githubJobId: bigint('github_job_id', { mode: 'number' }).notNull(),
    githubRunId: bigint('github_run_id', { mode: 'number' }).notNull(),
    runAttempt: integer('run_attempt').notNull().default(1),
    name: text('name').notNull(),
    status: text('status').notNull(),
    conclusion: text('conclusion'),
    headSha: text('head_sha'),
    headBranch: text('head_branch'),
    workflowName: text('workflow_name'),
    runnerName: text('runner_name'),
    labels: text('labels').array().notNull().default([]),
    steps: jsonb('steps').$type<JobStep[]>().notNull().default([]),
    failedSteps: text('failed_steps').array().notNull().default([]),
    htmlUrl: text('html_url'),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('workflow_jobs_connection_job_uq').on(t.connectionId, t.githubJobId),
    index('workflow_jobs_run_idx').on(t.runId),
    index('workflow_jobs_sha_name_idx').on(t.connectionId, t.headSha, t.name),
  ],
);
