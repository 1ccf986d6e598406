// Reading workflow runs for a person: the filtered, keyset-paginated list, one run with its
// jobs and steps, the success/failure and duration statistics, and a re-run through GitHub.
import type { Db } from '../../db/client.ts';
import { createWorkflowJobsStore, type WorkflowJob } from '../../db/stores/workflow-jobs-store.ts';
import {
  createWorkflowRunsStore,
  type RunFilters,
  type RunListRow,
  type RunStatsRow,
} from '../../db/stores/workflow-runs-store.ts';
import { errors } from '../../errors.ts';
import type { GitHubAccess } from '../../github/github-access.ts';
import { fromGitHub, githubMessage, githubStatus } from '../repositories/github-errors.ts';
import { splitFullName } from '../repositories/repository-hook.ts';
import { keysetPage } from './keyset-cursor.ts';

export type { RunFilters };

export async function listRuns(
  db: Db,
  userId: string,
  filters: RunFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: RunListRow[]; next: string | null }> {
  const store = createWorkflowRunsStore(db);
  return keysetPage(
    page,
    (q) => store.list(userId, filters, q),
    (r) => ({ at: r.githubCreatedAt ?? r.createdAt, id: r.id }),
  );
}

export async function getRun(
  db: Db,
  userId: string,
  id: string,
): Promise<{ run: RunListRow; jobs: WorkflowJob[] }> {
  const run = await createWorkflowRunsStore(db).findById(userId, id);
  if (!run) throw new errors.NOT_FOUND('Run');
  const jobs = await createWorkflowJobsStore(db).listForUserRun(userId, id);
  return { run, jobs };
}

export interface RateStats {
  runs: number;
  completed: number;
  success: number;
  failure: number;
  cancelled: number;
  /** Of completed runs; null when none completed. */
  successRate: number | null;
  failureRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface RunStats {
  since: Date;
  until: Date;
  totals: RateStats;
  byRepository: Array<RateStats & { connectionId: string; repository: string }>;
  byWorkflow: Array<RateStats & { connectionId: string; repository: string; workflow: string }>;
}

function rates(row: RunStatsRow | undefined): RateStats {
  const completed = row?.completed ?? 0;
  const ratio = (n: number) =>
    completed === 0 ? null : Math.round((n / completed) * 10000) / 10000;
  return {
    runs: row?.runs ?? 0,
    completed,
    success: row?.success ?? 0,
    failure: row?.failure ?? 0,
    cancelled: row?.cancelled ?? 0,
    successRate: ratio(row?.success ?? 0),
    failureRate: ratio(row?.failure ?? 0),
    p50Ms: row?.p50Ms ?? null,
    p95Ms: row?.p95Ms ?? null,
  };
}

export async function runStats(
  db: Db,
  userId: string,
  window: { since: Date; until: Date; connectionId?: string | undefined },
): Promise<RunStats> {
  const rows = await createWorkflowRunsStore(db).stats(userId, window);
  const byRuns = <T extends { runs: number }>(a: T, b: T) => b.runs - a.runs;
  return {
    since: window.since,
    until: window.until,
    totals: rates(rows.find((r) => r.connectionId === null)),
    byRepository: rows
      .filter((r) => r.connectionId !== null && r.workflowName === null)
      .map((r) => ({
        ...rates(r),
        connectionId: r.connectionId!,
        repository: r.repositoryFullName ?? '',
      }))
      .sort(byRuns),
    byWorkflow: rows
      .filter((r) => r.connectionId !== null && r.workflowName !== null)
      .map((r) => ({
        ...rates(r),
        connectionId: r.connectionId!,
        repository: r.repositoryFullName ?? '',
        workflow: r.workflowName!,
      }))
      .sort(byRuns),
  };
}

/** Asks GitHub to re-run a run (all jobs, or only the failed ones). */
export async function rerunRun(
  deps: { db: Db; github: GitHubAccess },
  userId: string,
  id: string,
  failedOnly: boolean,
): Promise<RunListRow> {
  const run = await createWorkflowRunsStore(deps.db).findById(userId, id);
  if (!run) throw new errors.NOT_FOUND('Run');
  const octokit = await deps.github.forUser(userId);
  const { owner, repo } = splitFullName(run.repositoryFullName);
  try {
    if (failedOnly) {
      await octokit.rest.actions.reRunWorkflowFailedJobs({ owner, repo, run_id: run.githubRunId });
    } else {
      await octokit.rest.actions.reRunWorkflow({ owner, repo, run_id: run.githubRunId });
    }
  } catch (err) {
    // GitHub answers 403 for a run it cannot re-run now (still running, nothing failed).
    if (githubStatus(err) === 403 && !/rate limit/i.test(githubMessage(err))) {
      throw new errors.CONFLICT(`GitHub cannot re-run this run: ${githubMessage(err)}`);
    }
    throw fromGitHub(err, 'Run');
  }
  return run;
}
