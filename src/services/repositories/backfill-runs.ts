// Backfill: the last N runs of a newly connected repository (and the jobs of each run's
// latest attempt), imported through the API so the pages are not empty. They go through
// the same guarded upserts as webhooks, so a webhook for an imported run just moves it
// forward, and an import that races a webhook never moves a run backwards. Incident hooks
// are not called: history is context, not a fresh failure to act on.
import type { Db } from '../../db/client.ts';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import {
  createWorkflowJobsStore,
  type WorkflowJobInput,
} from '../../db/stores/workflow-jobs-store.ts';
import {
  createWorkflowRunsStore,
  type WorkflowRunInput,
} from '../../db/stores/workflow-runs-store.ts';
import type { GitHubAccess } from '../../github/github-access.ts';
import { jobFromGitHub, runFromGitHub } from '../ingest/payload-rows.ts';
import { splitFullName } from './repository-hook.ts';

export interface BackfillDeps {
  db: Db;
  github: GitHubAccess;
  /** How many of the most recent runs to import (BACKFILL_RUNS). */
  limit: number;
}

/** Jobs requests in flight at once for one backfill: polite to GitHub, still quick. */
const JOB_FETCH_CONCURRENCY = 4;

export interface BackfillResult {
  runs: number;
  jobs: number;
  /** The connection was deleted meanwhile: nothing to do. */
  skipped: boolean;
}

/**
 * With `signal` (the job's: aborted at shutdown) it stops between requests and aborts the
 * one in flight, throwing the signal's reason. What it wrote stays: every write is a
 * guarded upsert, so the retry just goes over it again.
 */
export async function backfillRuns(
  deps: BackfillDeps,
  connectionId: string,
  signal?: AbortSignal,
): Promise<BackfillResult> {
  const connection = await createRepositoryConnectionsStore(deps.db).getForSystem(connectionId);
  if (!connection || deps.limit <= 0) return { runs: 0, jobs: 0, skipped: true };
  const octokit = await deps.github.forUser(connection.userId);
  const { owner, repo } = splitFullName(connection.fullName);
  const ctx = { userId: connection.userId, connectionId, receivedAt: new Date() };

  const found: unknown[] = [];
  for await (const response of octokit.paginate.iterator(
    octokit.rest.actions.listWorkflowRunsForRepo,
    {
      owner,
      repo,
      per_page: Math.min(100, deps.limit),
      exclude_pull_requests: true,
      request: { signal },
    },
  )) {
    found.push(...response.data);
    if (found.length >= deps.limit) break;
  }
  const rows: WorkflowRunInput[] = [];
  for (const run of found.slice(0, deps.limit)) {
    const parsed = runFromGitHub(run, ctx);
    if (parsed.ok) rows.push(parsed.value);
  }

  signal?.throwIfAborted();
  const runs = createWorkflowRunsStore(deps.db);
  await runs.upsertMany(rows);
  const stored = await runs.findByKeys(
    rows.map((r) => ({ connectionId, githubRunId: r.githubRunId })),
  );

  const jobsStore = createWorkflowJobsStore(deps.db);
  let jobCount = 0;
  const queue = [...stored];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      signal?.throwIfAborted();
      const jobs = await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, {
        owner,
        repo,
        run_id: run.githubRunId,
        filter: 'latest',
        per_page: 100,
        request: { signal },
      });
      const inputs: WorkflowJobInput[] = [];
      for (const job of jobs) {
        const parsed = jobFromGitHub(job, ctx);
        if (parsed.ok) inputs.push({ ...parsed.value.job, runId: run.id });
      }
      await jobsStore.upsertMany(inputs);
      jobCount += inputs.length;
    }
  };
  // Settled, not all: when one stops (abort, error) the others finish the write in hand,
  // so nothing is still writing once the job has returned.
  const settled = await Promise.allSettled(Array.from({ length: JOB_FETCH_CONCURRENCY }, worker));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return { runs: rows.length, jobs: jobCount, skipped: false };
}
