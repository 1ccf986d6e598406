// REST routes for GitHub Actions runs and jobs, and the "blob storage" answers behind the
// log redirects. Like GitHub, log endpoints answer 302 to a short-lived signed URL on a
// different origin (so fetch drops the Authorization header on the way), a job log is plain
// text, and a run's logs are a zip of `{n}_{job name}.txt` files.
import { strToU8, zipSync } from 'fflate';
import type { FakeCore, RestContext, RestHandler } from './rest.ts';
import { ApiError, intParam, notFound, ok, paginate, requireRepo, writeScopes } from './rest.ts';
import { isoSeconds } from './shapes.ts';
import type { FakeJob, FakeRepo, FakeRun, JobJson, RunJson } from './state.ts';

function findRun(ctx: RestContext, repo: FakeRepo): FakeRun {
  const run = ctx.core.state.runs.get(intParam(ctx, 'run_id'));
  if (!run || run.repoKey !== repo.data.full_name.toLowerCase()) throw notFound();
  return run;
}

function findJob(ctx: RestContext, repo: FakeRepo): FakeJob {
  const job = ctx.core.state.jobs.get(intParam(ctx, 'job_id'));
  if (!job || job.repoKey !== repo.data.full_name.toLowerCase()) throw notFound();
  return job;
}

function jobsOfRun(core: FakeCore, runId: number, attempt: number | 'all'): JobJson[] {
  return [...core.state.jobs.values()]
    .map((job) => job.data)
    .filter(
      (job) => job.run_id === runId && (attempt === 'all' || (job.run_attempt ?? 1) === attempt),
    )
    .sort((a, b) => a.id - b.id);
}

function presentRun(ctx: RestContext, run: RunJson): RunJson {
  return ctx.query.get('exclude_pull_requests') === 'true' ? { ...run, pull_requests: [] } : run;
}

const CONCLUSIONS = new Set([
  'success',
  'failure',
  'neutral',
  'cancelled',
  'skipped',
  'timed_out',
  'action_required',
  'stale',
  'startup_failure',
]);

const listRuns: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  const key = repo.data.full_name.toLowerCase();
  const { query } = ctx;
  const status = query.get('status');
  const runs = [...ctx.core.state.runs.values()]
    .filter((run) => run.repoKey === key)
    .map((run) => run.data)
    .filter((run) => {
      if (query.has('branch') && run.head_branch !== query.get('branch')) return false;
      if (query.has('event') && run.event !== query.get('event')) return false;
      if (query.has('head_sha') && run.head_sha !== query.get('head_sha')) return false;
      if (
        query.has('actor') &&
        run.actor?.login.toLowerCase() !== query.get('actor')?.toLowerCase()
      )
        return false;
      if (query.has('check_suite_id') && run.check_suite_id !== Number(query.get('check_suite_id')))
        return false;
      // `status` accepts a status or a conclusion, as GitHub's does.
      if (
        status !== null &&
        (CONCLUSIONS.has(status) ? run.conclusion !== status : run.status !== status)
      )
        return false;
      return true;
    })
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
  const page = paginate(ctx, runs);
  return ok(
    { total_count: runs.length, workflow_runs: page.items.map((run) => presentRun(ctx, run)) },
    page.headers,
  );
};

const getRun: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  return ok(presentRun(ctx, findRun(ctx, repo).data));
};

const listJobsForRun: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  const run = findRun(ctx, repo).data;
  const jobs = jobsOfRun(
    ctx.core,
    run.id,
    ctx.query.get('filter') === 'all' ? 'all' : (run.run_attempt ?? 1),
  );
  const page = paginate(ctx, jobs);
  return ok({ total_count: jobs.length, jobs: page.items }, page.headers);
};

const listJobsForRunAttempt: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  const run = findRun(ctx, repo).data;
  const attempt = intParam(ctx, 'attempt_number');
  if (attempt < 1 || attempt > (run.run_attempt ?? 1)) throw notFound();
  const jobs = jobsOfRun(ctx.core, run.id, attempt);
  const page = paginate(ctx, jobs);
  return ok({ total_count: jobs.length, jobs: page.items }, page.headers);
};

const getJob: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  return ok(findJob(ctx, repo).data);
};

const downloadJobLogs: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  const job = findJob(ctx, repo);
  if (!ctx.core.state.jobLogs.has(job.data.id)) throw notFound();
  return {
    status: 302,
    headers: { location: ctx.core.signedBlobUrl(`/jobs/${job.data.id}/logs.txt`) },
  };
};

const downloadRunLogs: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'read' });
  const run = findRun(ctx, repo).data;
  const jobs = jobsOfRun(ctx.core, run.id, run.run_attempt ?? 1);
  if (!jobs.some((job) => ctx.core.state.jobLogs.has(job.id))) throw notFound();
  return { status: 302, headers: { location: ctx.core.signedBlobUrl(`/runs/${run.id}/logs.zip`) } };
};

function rerun(failedJobsOnly: boolean): RestHandler {
  return (ctx) => {
    const repo = requireRepo(ctx, { need: 'write', scopes: writeScopes });
    const run = findRun(ctx, repo).data;
    if (run.status !== 'completed') {
      throw new ApiError(403, 'This workflow run is not completed and cannot be re-run');
    }
    const failed = jobsOfRun(ctx.core, run.id, run.run_attempt ?? 1).filter((job) =>
      ['failure', 'cancelled', 'timed_out'].includes(job.conclusion ?? ''),
    );
    if (failedJobsOnly && failed.length === 0) {
      throw new ApiError(403, 'This workflow run has no failed jobs to re-run');
    }
    const body = (ctx.body ?? {}) as { enable_debug_logging?: boolean };
    ctx.core.state.reruns.push({
      runId: run.id,
      failedJobsOnly,
      enableDebugLogging: body.enable_debug_logging ?? false,
      at: ctx.core.now(),
    });
    ctx.core.counters.reruns += 1;
    // A re-run is a new attempt of the same run: same id, attempt + 1, back to queued.
    const attempt = (run.run_attempt ?? 1) + 1;
    run.run_attempt = attempt;
    run.previous_attempt_url = `${run.url}/attempts/${attempt - 1}`;
    run.status = 'queued';
    run.conclusion = null;
    run.updated_at = isoSeconds(ctx.core.now());
    run.run_started_at = run.updated_at;
    return { status: 201, body: {} };
  };
}

export const actionsRoutes: Record<string, RestHandler> = {
  'GET /repos/{owner}/{repo}/actions/runs': listRuns,
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}': getRun,
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs': listJobsForRun,
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs':
    listJobsForRunAttempt,
  'GET /repos/{owner}/{repo}/actions/jobs/{job_id}': getJob,
  'GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs': downloadJobLogs,
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}/logs': downloadRunLogs,
  'POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun': rerun(false),
  'POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs': rerun(true),
};

/** Zip entry names GitHub uses: the job name with path separators made safe. */
function logFileName(index: number, jobName: string): string {
  return `${index}_${jobName.replace(/[/\\:*?"<>|]/g, '_')}.txt`;
}

/** Answers a (signature-checked) blob path with the log text or the run's log zip. */
export function serveBlob(
  core: FakeCore,
  path: string,
): { status: number; headers: Record<string, string>; body: Buffer } {
  const jobMatch = /^\/jobs\/(\d+)\/logs\.txt$/.exec(path);
  const text = jobMatch ? core.state.jobLogs.get(Number(jobMatch[1])) : undefined;
  if (text !== undefined) {
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: Buffer.from(text, 'utf8'),
    };
  }
  const runMatch = /^\/runs\/(\d+)\/logs\.zip$/.exec(path);
  const run = runMatch ? core.state.runs.get(Number(runMatch[1]))?.data : undefined;
  if (run) {
    const files: Record<string, Uint8Array> = {};
    jobsOfRun(core, run.id, run.run_attempt ?? 1).forEach((job, index) => {
      const log = core.state.jobLogs.get(job.id);
      if (log !== undefined) files[logFileName(index, job.name)] = strToU8(log);
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/zip' },
      body: Buffer.from(zipSync(files)),
    };
  }
  return {
    status: 404,
    headers: { 'content-type': 'application/xml' },
    body: Buffer.from(
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code></Error>',
    ),
  };
}
