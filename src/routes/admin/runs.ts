// Run pages (mounted at /admin): the runs list with filters and keyset pages, and one run
// with its jobs, steps and links to GitHub (http(s) links only), with re-run buttons.
// Everything is owner-scoped; another user's run is "not found".
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { createWorkflowRunsStore } from '../../db/stores/workflow-runs-store.ts';
import { asHttpUrl } from '../../services/ingest/payload-rows.ts';
import { getRun, listRuns, rerunRun } from '../../services/workflows/workflow-runs.ts';

const PAGE_SIZE = 30;
const STATUSES = ['requested', 'pending', 'queued', 'waiting', 'in_progress', 'completed'];
const CONCLUSIONS = [
  'success',
  'failure',
  'cancelled',
  'skipped',
  'timed_out',
  'neutral',
  'action_required',
  'stale',
  'startup_failure',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One of `values`, or '' (a form's "any" option). */
const optionalChoice = (values: readonly string[]) =>
  Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['', ...values] }));

const ListQuery = Type.Object({
  connection_id: Type.Optional(Type.String({ maxLength: 36 })),
  status: optionalChoice(STATUSES),
  conclusion: optionalChoice(CONCLUSIONS),
  branch: Type.Optional(Type.String({ maxLength: 255 })),
  workflow: Type.Optional(Type.String({ maxLength: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
});

function listUrl(filters: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `/admin/runs?${query}` : '/admin/runs';
}

const formatDuration = (ms: number | null) => {
  if (ms === null) return '—';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
};

const runPages: FastifyPluginAsyncTypebox = async (app) => {
  const connections = createRepositoryConnectionsStore(app.db);
  const runsStore = createWorkflowRunsStore(app.db);

  app.get(
    '/runs',
    { preHandler: app.requirePageUser, schema: { hide: true, querystring: ListQuery } },
    async (request, reply) => {
      const userId = request.user!.id;
      const q = request.query;
      const filters = {
        connection_id: q.connection_id && UUID.test(q.connection_id) ? q.connection_id : undefined,
        status: q.status || undefined,
        conclusion: q.conclusion || undefined,
        branch: q.branch?.trim() || undefined,
        workflow: q.workflow?.trim() || undefined,
      };
      const [page, repos, facets] = await Promise.all([
        listRuns(
          app.db,
          userId,
          {
            connectionId: filters.connection_id,
            status: filters.status,
            conclusion: filters.conclusion,
            branch: filters.branch,
            workflow: filters.workflow,
          },
          { limit: PAGE_SIZE, cursor: q.cursor },
        ),
        connections.allForUser(userId),
        runsStore.facets(userId),
      ]);
      return reply.page('admin/runs', {
        title: 'Runs',
        runs: page.items.map((r) => ({ ...r, duration: formatDuration(r.durationMs) })),
        filters,
        repositories: repos.map((c) => ({ id: c.id, fullName: c.fullName })),
        workflows: facets.workflows,
        branches: facets.branches,
        statuses: STATUSES,
        conclusions: CONCLUSIONS,
        firstUrl: q.cursor ? listUrl(filters) : null,
        nextUrl: page.next ? listUrl({ ...filters, cursor: page.next }) : null,
      });
    },
  );

  app.get(
    '/runs/:id',
    {
      preHandler: app.requirePageUser,
      schema: { hide: true, params: Type.Object({ id: Type.String({ maxLength: 36 }) }) },
    },
    async (request, reply) => {
      const missing = () => reply.code(404).page('admin/run-missing', { title: 'Run not found' });
      if (!UUID.test(request.params.id)) return missing();
      let found;
      try {
        found = await getRun(app.db, request.user!.id, request.params.id);
      } catch (err) {
        if ((err as FastifyError).statusCode !== 404) throw err;
        return missing();
      }
      const { run, jobs } = found;
      const attempts = [...new Set(jobs.map((j) => j.runAttempt))].sort((a, b) => b - a);
      return reply.page('admin/run', {
        title: `${run.workflowName ?? 'Run'} #${run.runNumber ?? run.githubRunId}`,
        run: {
          ...run,
          duration: formatDuration(run.durationMs),
          githubUrl: asHttpUrl(run.htmlUrl),
        },
        attempts: attempts.map((attempt) => ({
          attempt,
          jobs: jobs
            .filter((j) => j.runAttempt === attempt)
            .map((j) => ({
              ...j,
              githubUrl: asHttpUrl(j.htmlUrl),
              duration:
                j.startedAt && j.completedAt
                  ? formatDuration(j.completedAt.getTime() - j.startedAt.getTime())
                  : '—',
            })),
        })),
        canRerun: run.status === 'completed' && !run.placeholder,
      });
    },
  );

  app.post(
    '/runs/:id/rerun',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Type.Object({ failed_only: Type.Optional(Type.String({ maxLength: 10 })) }),
      },
    },
    async (request, reply) => {
      const failedOnly = request.body.failed_only !== undefined;
      try {
        await rerunRun(
          { db: app.db, github: app.github },
          request.user!.id,
          request.params.id,
          failedOnly,
        );
        reply.flash(
          'success',
          failedOnly
            ? 'GitHub is re-running the failed jobs; the new attempt shows up here as it runs.'
            : 'GitHub is re-running every job; the new attempt shows up here as it runs.',
        );
      } catch (err) {
        const e = err as FastifyError;
        const status = e.statusCode ?? 500;
        if (status === 404) throw err;
        if (status >= 500 && status !== 502 && status !== 503) throw err;
        reply.flash('error', `Not re-run: ${e.message}`);
      }
      return reply.redirect(`/admin/runs/${request.params.id}`, 303);
    },
  );
};

export default runPages;
