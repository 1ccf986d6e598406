// Incidents (mounted at /api/v2/incidents): list with filters, status counts and keyset
// pagination; one incident with its analysis, failed jobs, flake rates, occurrences and
// timeline; manual status changes with a note; a fresh analysis on request. Scoped to the
// caller: another user's incident answers 404.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FailureType } from '../../../services/analysis/types.ts';
import type { Severity } from '../../../services/incidents/severity.ts';
import type {
  Incident as IncidentRow,
  IncidentEvent,
  IncidentStatus,
  OccurrenceWithRun,
  WorkflowJob,
} from '../../../db/stores/incidents-store.ts';
import { createIncidentsStore } from '../../../db/stores/incidents-store.ts';
import { errors } from '../../../errors.ts';
import { changeIncidentStatus } from '../../../services/incidents/change-status.ts';
import { pageJson, pageRequest } from '../../../services/incidents/cursor.ts';
import { incidentDetails, type FlakeRate } from '../../../services/incidents/incident-details.ts';
import { requestIncidentAnalysis } from '../../../services/incidents/request-analysis.ts';
import {
  AnalyseAccepted,
  ErrorResponse,
  IncidentDetail,
  IncidentList,
  IncidentParams,
  Incident,
  ListQuery,
  OccurrencePage,
  PageQuery,
  TimelinePage,
  UpdateBody,
  cookieOrBearer,
} from './schemas.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function incidentJson(row: IncidentRow, repository: string) {
  return {
    id: row.id,
    title: row.title,
    status: row.status as IncidentStatus,
    severity: row.severity as Severity,
    repository,
    connection_id: row.connectionId,
    workflow_id: row.workflowId,
    workflow_name: row.workflowName,
    branch: row.branch,
    failed_jobs: row.failedJobs,
    occurrences: row.occurrences,
    flaky: row.flaky,
    failure_type: row.failureType as FailureType | null,
    first_error: row.firstError,
    analysis_status: row.analysisStatus as 'pending' | 'running' | 'done' | 'failed',
    opened_at: row.openedAt.toISOString(),
    last_seen_at: row.lastSeenAt.toISOString(),
    acknowledged_at: iso(row.acknowledgedAt),
    resolved_at: iso(row.resolvedAt),
    resolved_by: row.resolvedBy as 'green_run' | 'manual' | null,
  };
}

function occurrenceJson(o: OccurrenceWithRun) {
  return {
    id: o.id,
    run_attempt: o.runAttempt,
    occurred_at: o.occurredAt.toISOString(),
    run: {
      id: o.runId,
      github_run_id: o.githubRunId,
      run_number: o.runNumber,
      conclusion: o.conclusion,
      event: o.event,
      head_sha: o.headSha,
      head_branch: o.headBranch,
      commit_message: o.commitMessage,
      actor: o.actorLogin,
      title: o.displayTitle,
      html_url: o.htmlUrl,
    },
  };
}

function eventJson(e: IncidentEvent) {
  return {
    id: e.id,
    kind: e.kind,
    actor: e.actor,
    note: e.note,
    data: e.data,
    created_at: e.createdAt.toISOString(),
  };
}

function jobJson(j: WorkflowJob) {
  return {
    name: j.name,
    github_job_id: j.githubJobId,
    conclusion: j.conclusion,
    failed_steps: j.failedSteps,
    html_url: j.htmlUrl,
  };
}

function flakeJson(f: FlakeRate) {
  return {
    job: f.job,
    commits: f.commits,
    flaky_commits: f.flakyCommits,
    rate: f.rate,
    window_days: f.windowDays,
  };
}

const errorsFor = (...codes: Array<400 | 401 | 403 | 404>) =>
  Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<number, typeof ErrorResponse>;

const incidentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = createIncidentsStore(app.db);

  /** The incident if the caller owns it, else 404 (never 403: existence is not confirmed). */
  const owned = async (userId: string, id: string) => {
    const found = await store.getForUser(userId, id);
    if (!found) throw new errors.NOT_FOUND('Incident');
    return found;
  };

  app.get(
    '/',
    {
      preHandler: app.requireScope('incidents:read'),
      schema: {
        tags: ['incidents'],
        summary: 'List incidents, most recently seen first, with counts per status',
        description:
          'Filters combine. `counts` apply every filter except `status`, for status tabs.',
        security: cookieOrBearer,
        querystring: ListQuery,
        response: { 200: IncidentList, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const filters = {
        severity: q.severity,
        repository: q.repository,
        failureType: q.failure_type,
        branch: q.branch,
      };
      const userId = request.user!.id;
      const [page, counts] = await Promise.all([
        store.listForUser(userId, { ...filters, status: q.status }, pageRequest(q)),
        store.countByStatus(userId, filters),
      ]);
      return { ...pageJson(page, (i) => incidentJson(i, i.repository)), counts };
    },
  );

  app.get(
    '/:id',
    {
      preHandler: app.requireScope('incidents:read'),
      schema: {
        tags: ['incidents'],
        summary: 'One incident: analysis, failed jobs, flake rates, occurrences, timeline',
        description:
          'Occurrences (newest first) and the timeline (oldest first) hold their first page; page on with /occurrences and /timeline.',
        security: cookieOrBearer,
        params: IncidentParams,
        response: { 200: IncidentDetail, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const d = await incidentDetails(app.db, request.user!.id, request.params.id);
      const i = d.incident;
      return {
        incident: incidentJson(i, d.connection.fullName),
        repository_url: d.connection.htmlUrl,
        analysis: {
          status: i.analysisStatus,
          error: i.analysisError,
          analysed_at: iso(i.analysedAt),
          failure_type: i.failureType as FailureType | null,
          summary: i.summary,
          first_error: i.firstError,
          references: i.references,
          log_excerpt: i.logExcerpt,
        },
        failed_jobs: d.failedJobs.map(jobJson),
        flake_rates: d.flakeRates.map(flakeJson),
        occurrences: { ...pageJson(d.occurrences, occurrenceJson), total: d.occurrencesTotal },
        timeline: pageJson(d.events, eventJson),
      };
    },
  );

  app.get(
    '/:id/occurrences',
    {
      preHandler: app.requireScope('incidents:read'),
      schema: {
        tags: ['incidents'],
        summary: "An incident's occurrences (failing runs), newest first",
        security: cookieOrBearer,
        params: IncidentParams,
        querystring: PageQuery,
        response: { 200: OccurrencePage, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { incident } = await owned(request.user!.id, request.params.id);
      return pageJson(
        await store.listOccurrences(incident.id, pageRequest(request.query)),
        occurrenceJson,
      );
    },
  );

  app.get(
    '/:id/timeline',
    {
      preHandler: app.requireScope('incidents:read'),
      schema: {
        tags: ['incidents'],
        summary: "An incident's timeline, oldest first",
        security: cookieOrBearer,
        params: IncidentParams,
        querystring: PageQuery,
        response: { 200: TimelinePage, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { incident } = await owned(request.user!.id, request.params.id);
      return pageJson(await store.listEvents(incident.id, pageRequest(request.query)), eventJson);
    },
  );

  app.patch(
    '/:id',
    {
      preHandler: app.requireScope('incidents:write'),
      schema: {
        tags: ['incidents'],
        summary: 'Acknowledge, resolve, ignore or reopen an incident, with an optional note',
        description:
          'A note alone adds it to the timeline. Resolving here sets resolved_by "manual".',
        security: cookieOrBearer,
        params: IncidentParams,
        body: UpdateBody,
        response: { 200: Incident, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const user = request.user!;
      const { incident, connection } = await owned(user.id, request.params.id);
      const updated = await changeIncidentStatus(app.db, {
        userId: user.id,
        actor: user.login,
        incidentId: incident.id,
        status: request.body.status,
        note: request.body.note,
      });
      return incidentJson(updated, connection.fullName);
    },
  );

  app.post(
    '/:id/analyse',
    {
      preHandler: app.requireScope('incidents:write'),
      schema: {
        tags: ['incidents'],
        summary: 'Analyse the incident again (queued; the incident shows the result)',
        security: cookieOrBearer,
        params: IncidentParams,
        response: { 202: AnalyseAccepted, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = request.user!;
      const { jobKey } = await requestIncidentAnalysis(app.db, {
        userId: user.id,
        actor: user.login,
        incidentId: request.params.id,
      });
      return reply.status(202).send({ status: 'queued' as const, job_key: jobKey });
    },
  );
};

export default incidentRoutes;
