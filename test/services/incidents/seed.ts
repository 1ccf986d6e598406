// Direct inserts of users, connections, runs and jobs for incident tests, shaped like what
// ingestion stores, and a helper that calls the incident hook the way ingestion does
// (inside a transaction, with the run's job rows).
import { randomInt } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../../src/db/client.ts';
import {
  repositoryConnections,
  users,
  workflowJobs,
  workflowRuns,
  type JobStep,
} from '../../../src/db/schema/index.ts';
import type {
  RepositoryConnection,
  WorkflowJob,
  WorkflowRun,
} from '../../../src/db/stores/incidents-store.ts';
import { driverRows } from '../../../src/db/stores/workflow-runs-store.ts';
import type { RunRecordedHook } from '../../../src/services/ingest/types.ts';

let nextId = randomInt(1_000_000, 9_000_000);
const id = () => ++nextId;

export async function seedConnection(
  db: Db,
  opts: {
    login?: string;
    fullName?: string;
    githubRepoId?: number;
    defaultBranch?: string;
    autoRerunInfrastructure?: boolean;
    watchedBranches?: string[];
    userId?: string;
  } = {},
): Promise<RepositoryConnection> {
  let userId = opts.userId;
  if (!userId) {
    const [user] = await db
      .insert(users)
      .values({ githubId: id(), login: opts.login ?? `user${nextId}` })
      .returning();
    userId = user!.id;
  }
  const [connection] = await db
    .insert(repositoryConnections)
    .values({
      userId,
      githubRepoId: opts.githubRepoId ?? id(),
      fullName: opts.fullName ?? `octo/repo${nextId}`,
      defaultBranch: opts.defaultBranch ?? 'main',
      htmlUrl: `https://github.com/${opts.fullName ?? `octo/repo${nextId}`}`,
      webhookSecretEnc: 'not-used-in-these-tests',
      autoRerunInfrastructure: opts.autoRerunInfrastructure ?? false,
      watchedBranches: opts.watchedBranches ?? [],
    })
    .returning();
  return connection!;
}

export interface JobSpec {
  name: string;
  conclusion: string | null;
  githubJobId?: number;
  failedSteps?: string[];
  steps?: JobStep[];
  completedAt?: Date;
}

export interface RunSpec {
  githubRunId?: number;
  runAttempt?: number;
  runNumber?: number;
  workflowId?: number | null;
  workflowName?: string;
  branch?: string;
  headSha?: string;
  status?: string;
  conclusion: string | null;
  startedAt?: Date;
  completedAt?: Date;
  jobs?: JobSpec[];
}

/**
 * Inserts (or, for a known githubRunId, updates to a new attempt) a run and adds its
 * jobs for this attempt, as ingestion would. Returns the run and all its job rows.
 */
export async function recordRun(
  db: Db,
  connection: RepositoryConnection,
  spec: RunSpec,
): Promise<{ run: WorkflowRun; jobs: WorkflowJob[] }> {
  const startedAt = spec.startedAt ?? new Date();
  const completedAt = spec.completedAt ?? new Date(startedAt.getTime() + 60_000);
  const status = spec.status ?? 'completed';
  const githubRunId = spec.githubRunId ?? id();
  const values = {
    userId: connection.userId,
    connectionId: connection.id,
    githubRunId,
    runAttempt: spec.runAttempt ?? 1,
    runNumber: spec.runNumber ?? githubRunId % 1000,
    workflowId: spec.workflowId === undefined ? 77 : spec.workflowId,
    workflowName: spec.workflowName ?? 'CI',
    workflowPath: '.github/workflows/ci.yml',
    event: 'push',
    status,
    conclusion: spec.conclusion,
    headBranch: spec.branch ?? 'main',
    headSha: spec.headSha ?? `sha${githubRunId}`.padEnd(40, '0'),
    htmlUrl: `https://github.com/${connection.fullName}/actions/runs/${githubRunId}`,
    runStartedAt: startedAt,
    githubCreatedAt: startedAt,
    githubUpdatedAt: completedAt,
    completedAt: status === 'completed' ? completedAt : null,
  };
  const [run] = await db
    .insert(workflowRuns)
    .values(values)
    .onConflictDoUpdate({
      target: [workflowRuns.connectionId, workflowRuns.githubRunId],
      set: { ...values, updatedAt: new Date() },
    })
    .returning();
  for (const job of spec.jobs ?? []) {
    await db.insert(workflowJobs).values({
      runId: run!.id,
      connectionId: connection.id,
      githubJobId: job.githubJobId ?? id(),
      githubRunId,
      runAttempt: values.runAttempt,
      name: job.name,
      status: job.conclusion === null ? 'in_progress' : 'completed',
      conclusion: job.conclusion,
      headSha: values.headSha,
      headBranch: values.headBranch,
      workflowName: values.workflowName,
      steps: job.steps ?? [],
      failedSteps: job.failedSteps ?? [],
      htmlUrl: `https://github.com/${connection.fullName}/actions/runs/${githubRunId}/job/${job.githubJobId ?? nextId}`,
      startedAt,
      completedAt: job.conclusion === null ? null : (job.completedAt ?? completedAt),
    });
  }
  const jobs = await db.select().from(workflowJobs).where(eq(workflowJobs.runId, run!.id));
  return { run: run!, jobs };
}

/**
 * Calls the hook the way ingestion does: in a transaction, with the run's jobs, after asking
 * its select. When select skips the run, the full hook runs anyway and must change nothing:
 * every lifecycle test doubles as a check that select never skips work.
 */
export async function deliver(
  db: Db,
  hook: RunRecordedHook,
  connection: RepositoryConnection,
  recorded: { run: WorkflowRun; jobs: WorkflowJob[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    const event = { ...recorded, connection, changed: true, events: ['workflow_run' as const] };
    const wants = hook.select ? await hook.select(tx, [recorded.run]) : () => true;
    const wanted = wants(event);
    if (wanted) return hook(tx, event);
    const before = await footprint(tx);
    await hook(tx, event);
    const after = await footprint(tx);
    if (after !== before) {
      throw new Error(`select skipped run ${recorded.run.githubRunId} the lifecycle acted on`);
    }
  });
}

/** Everything the incident lifecycle writes, summed up. */
async function footprint(tx: Db): Promise<string> {
  const rows = await tx.execute(sql`select
    (select count(*) || ':' || coalesce(sum(extract(epoch from updated_at)), 0) from incidents) as i,
    (select count(*) from incident_events) as e,
    (select count(*) from incident_occurrences) as o,
    (select count(*) from outbox) as x`);
  return JSON.stringify(driverRows(rows));
}

export async function jobsOf(db: Db, runId: string, attempt: number): Promise<WorkflowJob[]> {
  return db
    .select()
    .from(workflowJobs)
    .where(and(eq(workflowJobs.runId, runId), eq(workflowJobs.runAttempt, attempt)));
}
