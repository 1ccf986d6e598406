// Incident pages (mounted at /admin): the list with status tabs, counts and filters; one
// incident with its analysis (error lines highlighted), failed jobs and flake rates,
// occurrences and timeline, links to GitHub; forms to change the status with a note and
// to analyse again. Everything is owner-scoped; another user's incident is "not found".
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import {
  INCIDENT_STATUSES,
  createIncidentsStore,
  type IncidentFilters,
  type IncidentStatus,
} from '../../db/stores/incidents-store.ts';
import { FAILURE_TYPES } from '../../services/analysis/types.ts';
import { MAX_NOTE_LENGTH, changeIncidentStatus } from '../../services/incidents/change-status.ts';
import { decodeCursor, encodeCursor } from '../../services/incidents/cursor.ts';
import { excerptLines } from '../../services/incidents/excerpt-lines.ts';
import { incidentDetails } from '../../services/incidents/incident-details.ts';
import { requestIncidentAnalysis } from '../../services/incidents/request-analysis.ts';
import { SEVERITIES } from '../../services/incidents/severity.ts';

const PAGE_SIZE = 25;
const OCCURRENCES_PER_PAGE = 20;
const EVENTS_PER_PAGE = 200;

/** One of `values`, or '' (a form's "any" option). */
const optionalChoice = (values: readonly string[]) =>
  Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['', ...values] }));

const ListQuery = Type.Object({
  status: optionalChoice(INCIDENT_STATUSES),
  severity: optionalChoice(SEVERITIES),
  failure_type: optionalChoice(FAILURE_TYPES),
  repository: Type.Optional(Type.String({ maxLength: 200 })),
  branch: Type.Optional(Type.String({ maxLength: 255 })),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
});

const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** A link to the list with these filters (empty ones left out). */
function listUrl(filters: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `/admin/incidents?${query}` : '/admin/incidents';
}

/** GitHub's page for a file at a commit and line, when the repository URL is known. */
function sourceUrl(
  repoUrl: string | null,
  sha: string | null,
  ref: { file: string; line?: number },
): string | null {
  if (!repoUrl || !sha || ref.file.startsWith('/') || ref.file.includes('..')) return null;
  const path = ref.file.split('/').map(encodeURIComponent).join('/');
  return `${repoUrl}/blob/${encodeURIComponent(sha)}/${path}${ref.line ? `#L${ref.line}` : ''}`;
}

const incidentPages: FastifyPluginAsyncTypebox = async (app) => {
  const store = createIncidentsStore(app.db);

  app.get(
    '/incidents',
    { preHandler: app.requirePageUser, schema: { hide: true, querystring: ListQuery } },
    async (request, reply) => {
      const q = request.query;
      const userId = request.user!.id;
      const filters: Omit<IncidentFilters, 'status'> = {
        severity: q.severity || undefined,
        failureType: q.failure_type || undefined,
        repository: q.repository?.trim() || undefined,
        branch: q.branch?.trim() || undefined,
      };
      const status = (q.status || undefined) as IncidentStatus | undefined;
      const [page, counts] = await Promise.all([
        store.listForUser(
          userId,
          { ...filters, status },
          { limit: PAGE_SIZE, after: q.cursor ? decodeCursor(q.cursor) : undefined },
        ),
        store.countByStatus(userId, filters),
      ]);
      const kept = {
        severity: filters.severity,
        failure_type: filters.failureType,
        repository: filters.repository,
        branch: filters.branch,
      };
      const total = Object.values(counts).reduce((a, n) => a + n, 0);
      return reply.page('admin/incidents', {
        title: 'Incidents',
        incidents: page.items,
        filters: { ...kept, status: status ?? '' },
        tabs: [
          { label: 'All', count: total, href: listUrl(kept), active: !status },
          ...INCIDENT_STATUSES.map((s) => ({
            label: s,
            count: counts[s],
            href: listUrl({ ...kept, status: s }),
            active: status === s,
          })),
        ],
        severities: SEVERITIES,
        failureTypes: FAILURE_TYPES,
        nextUrl: page.next ? listUrl({ ...kept, status, cursor: encodeCursor(page.next) }) : null,
        firstUrl: q.cursor ? listUrl({ ...kept, status }) : null,
      });
    },
  );

  app.get(
    '/incidents/:id',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        params: Id,
        querystring: Type.Object({
          occurrences: Type.Optional(Type.String({ maxLength: 300 })),
          timeline: Type.Optional(Type.String({ maxLength: 300 })),
        }),
      },
    },
    async (request, reply) => {
      const userId = request.user!.id;
      let details;
      try {
        details = await incidentDetails(app.db, userId, request.params.id, {
          occurrences: OCCURRENCES_PER_PAGE,
          events: EVENTS_PER_PAGE,
        });
      } catch (err) {
        if ((err as FastifyError).statusCode !== 404) throw err;
        return reply.code(404).page('admin/incident-missing', { title: 'Incident not found' });
      }
      const { occurrences: occCursor, timeline: evCursor } = request.query;
      const id = details.incident.id;
      const occurrences = occCursor
        ? await store.listOccurrences(id, {
            limit: OCCURRENCES_PER_PAGE,
            after: decodeCursor(occCursor),
          })
        : details.occurrences;
      const events = evCursor
        ? await store.listEvents(id, { limit: EVENTS_PER_PAGE, after: decodeCursor(evCursor) })
        : details.events;
      const base = `/admin/incidents/${id}`;
      const latestSha = details.occurrences.items[0]?.headSha ?? null;
      const repoUrl = details.connection.htmlUrl;
      return reply.page('admin/incident', {
        title: details.incident.title,
        d: details,
        occurrences: occurrences.items,
        events: events.items,
        moreOccurrencesUrl: occurrences.next
          ? `${base}?occurrences=${encodeCursor(occurrences.next)}`
          : null,
        moreEventsUrl: events.next ? `${base}?timeline=${encodeCursor(events.next)}` : null,
        firstPageUrl: occCursor || evCursor ? base : null,
        excerpt: excerptLines(details.incident.logExcerpt),
        references: details.incident.references.map((r) => ({
          ...r,
          url: sourceUrl(repoUrl, latestSha, r),
        })),
        statuses: INCIDENT_STATUSES,
        maxNote: MAX_NOTE_LENGTH,
      });
    },
  );

  app.post(
    '/incidents/:id/status',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        params: Id,
        body: Type.Object({
          status: optionalChoice(INCIDENT_STATUSES),
          note: Type.Optional(Type.String({ maxLength: MAX_NOTE_LENGTH * 2 })),
        }),
      },
    },
    async (request, reply) => {
      const user = request.user!;
      const { status, note } = request.body;
      try {
        const updated = await changeIncidentStatus(app.db, {
          userId: user.id,
          actor: user.login,
          incidentId: request.params.id,
          status: (status || undefined) as IncidentStatus | undefined,
          note,
        });
        reply.flash(
          'success',
          status && status === updated.status ? `Incident marked ${status}.` : 'Note added.',
        );
      } catch (err) {
        const e = err as FastifyError;
        if (e.statusCode !== 400 && e.statusCode !== 404) throw err;
        reply.flash('error', `Nothing changed: ${e.message}.`);
      }
      return reply.redirect(`/admin/incidents/${request.params.id}`, 303);
    },
  );

  app.post(
    '/incidents/:id/analyse',
    { preHandler: app.requirePageUser, schema: { hide: true, params: Id } },
    async (request, reply) => {
      const user = request.user!;
      try {
        await requestIncidentAnalysis(app.db, {
          userId: user.id,
          actor: user.login,
          incidentId: request.params.id,
        });
        reply.flash('success', 'Analysis queued: this page shows the result when it is done.');
      } catch (err) {
        if ((err as FastifyError).statusCode !== 404) throw err;
        reply.flash('error', 'Incident not found.');
      }
      return reply.redirect(`/admin/incidents/${request.params.id}`, 303);
    },
  );
};

export default incidentPages;
