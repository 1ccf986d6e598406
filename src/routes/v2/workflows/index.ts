// Workflow runs (mounted at /api/v2/workflows): the runs webhooks and backfill recorded,
// one run with its jobs and steps, statistics over a window, and re-running through GitHub.
// Every query is scoped to the caller: another user's run answers 404.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WorkflowJob } from '../../../db/stores/workflow-jobs-store.ts';
import type { RunListRow } from '../../../db/stores/workflow-runs-store.ts';
import { errors } from '../../../errors.ts';
import {
  getRun,
  listRuns,
  rerunRun,
  runStats,
  type RateStats,
} from '../../../services/workflows/workflow-runs.ts';
import {
  RerunAccepted,
  RerunBody,
  RunDetail,
  RunList,
  RunListQuery,
  RunParams,
  StatsQuery,
  WorkflowStats,
  cookieOrBearer,
  errorsFor,
} from './schemas.ts';

const DAY_MS = 24 * 3600 * 1000;
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function runJson(run: RunListRow) {
  return {
    id: run.id,
    connection_id: run.connectionId,
    repository: run.repositoryFullName,
    github_run_id: run.githubRunId,
    run_attempt: run.runAttempt,
    run_number: run.runNumber,
    workflow: { id: run.workflowId, name: run.workflowName, path: run.workflowPath },
    display_title: run.displayTitle,
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    head_branch: run.headBranch,
    head_sha: run.headSha,
    commit_message: run.commitMessage,
    actor: run.actorLogin,
    html_url: run.htmlUrl,
    run_started_at: iso(run.runStartedAt),
    created_at: iso(run.githubCreatedAt),
    updated_at: iso(run.githubUpdatedAt),
    completed_at: iso(run.completedAt),
    duration_ms: run.durationMs,
    placeholder: run.placeholder,
  };
}

export function jobJson(job: WorkflowJob) {
  return {
    id: job.id,
    github_job_id: job.githubJobId,
    run_attempt: job.runAttempt,
    name: job.name,
    status: job.status,
    conclusion: job.conclusion,
    failed_steps: job.failedSteps,
    runner_name: job.runnerName,
    labels: job.labels,
    html_url: job.htmlUrl,
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    steps: job.steps.map((s) => ({
      number: s.number,
      name: s.name,
      status: s.status,
      conclusion: s.conclusion,
      started_at: s.started_at,
      completed_at: s.completed_at,
    })),
  };
}

function ratesJson(r: RateStats) {
  return {
    runs: r.runs,
    completed: r.completed,
    success: r.success,
    failure: r.failure,
    cancelled: r.cancelled,
    success_rate: r.successRate,
    failure_rate: r.failureRate,
    duration_p50_ms: r.p50Ms,
    duration_p95_ms: r.p95Ms,
  };
}

const workflowRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['workflows'];

  app.get(
    '/runs',
    {
      preHandler: app.requireScope('runs:read'),
      schema: {
        tags,
        summary: 'Workflow runs, newest first (keyset pagination)',
        security: cookieOrBearer,
        querystring: RunListQuery,
        response: { 200: RunList, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await listRuns(
        app.db,
        request.user!.id,
        {
          repository: q.repository,
          connectionId: q.connection_id,
          status: q.status,
          conclusion: q.conclusion,
          branch: q.branch,
          workflow: q.workflow,
          since: q.since ? new Date(q.since) : undefined,
          until: q.until ? new Date(q.until) : undefined,
        },
        { limit: q.limit, cursor: q.cursor },
      );
      return { items: page.items.map(runJson), next_cursor: page.next };
    },
  );

  app.get(
    '/runs/:id',
    {
      preHandler: app.requireScope('runs:read'),
      schema: {
        tags,
        summary: 'One run with its jobs and steps',
        security: cookieOrBearer,
        params: RunParams,
        response: { 200: RunDetail, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { run, jobs } = await getRun(app.db, request.user!.id, request.params.id);
      return { ...runJson(run), jobs: jobs.map(jobJson) };
    },
  );

  app.post(
    '/runs/:id/rerun',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: 'Ask GitHub to re-run this run (all jobs, or only the failed ones)',
        description:
          'The new attempt arrives through the webhook like any run. Needs the repos:write scope.',
        security: cookieOrBearer,
        params: RunParams,
        body: RerunBody,
        response: { 202: RerunAccepted, ...errorsFor(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request, reply) => {
      const failedOnly = request.body?.failed_only ?? false;
      const run = await rerunRun(
        { db: app.db, github: app.github },
        request.user!.id,
        request.params.id,
        failedOnly,
      );
      return reply.status(202).send({
        id: run.id,
        github_run_id: run.githubRunId,
        failed_only: failedOnly,
        requested: true as const,
      });
    },
  );

  app.get(
    '/stats',
    {
      preHandler: app.requireScope('runs:read'),
      schema: {
        tags,
        summary: 'Success/failure rates and duration p50/p95, overall, by repository, by workflow',
        security: cookieOrBearer,
        querystring: StatsQuery,
        response: { 200: WorkflowStats, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const until = request.query.until ? new Date(request.query.until) : new Date();
      const since = request.query.since
        ? new Date(request.query.since)
        : new Date(until.getTime() - 7 * DAY_MS);
      if (since >= until) throw new errors.BAD_REQUEST('since must be before until');
      const stats = await runStats(app.db, request.user!.id, {
        since,
        until,
        connectionId: request.query.connection_id,
      });
      return {
        since: since.toISOString(),
        until: until.toISOString(),
        totals: ratesJson(stats.totals),
        by_repository: stats.byRepository.map((r) => ({
          connection_id: r.connectionId,
          repository: r.repository,
          ...ratesJson(r),
        })),
        by_workflow: stats.byWorkflow.map((r) => ({
          connection_id: r.connectionId,
          repository: r.repository,
          workflow: r.workflow,
          ...ratesJson(r),
        })),
      };
    },
  );
};

export default workflowRoutes;
