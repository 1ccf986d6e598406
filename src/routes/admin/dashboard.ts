// The dashboard (mounted at /admin): open incidents, failure rate over 7 and 30 days, mean
// time to resolve, top failing workflows and failure types, with small charts drawn as
// inline SVG on the server (no script, no CDN). Figures cover the signed-in user's data.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createIncidentsStore } from '../../db/stores/incidents-store.ts';
import { createOutboxStore } from '../../db/stores/outbox-store.ts';
import { barChart } from '../../services/charts/bar-chart.ts';
import { runColumns } from '../../services/charts/run-columns.ts';
import { formatDuration, formatPercent } from '../../services/charts/svg-text.ts';
import { SEVERITIES } from '../../services/incidents/severity.ts';

const TYPE_COLOURS: Record<string, string> = {
  test: '#cf222e',
  build: '#bc4c00',
  lint: '#9a6700',
  dependency: '#8250df',
  configuration: '#0969da',
  infrastructure: '#57606a',
  unknown: '#8c959f',
  pending: '#d0d7de',
};

const dashboardPages: FastifyPluginAsyncTypebox = async (app) => {
  const incidents = createIncidentsStore(app.db);
  const outbox = createOutboxStore(app.db);

  app.get(
    '/dashboard',
    { preHandler: app.requirePageUser, schema: { hide: true } },
    async (request, reply) => {
      const data = await incidents.dashboard(request.user!.id, new Date());
      const backlog = await outbox.backlog();
      const bySeverity = SEVERITIES.map((s) => ({
        severity: s,
        count: data.active.filter((a) => a.severity === s).reduce((n, a) => n + a.count, 0),
      })).reverse();
      const open = data.active.reduce((n, a) => n + a.count, 0);
      const acknowledged = data.active
        .filter((a) => a.status === 'acknowledged')
        .reduce((n, a) => n + a.count, 0);
      return reply.page('admin/dashboard', {
        title: 'Dashboard',
        figures: {
          open,
          acknowledged,
          bySeverity,
          rate7: formatPercent(data.last7.failed, data.last7.total),
          rate30: formatPercent(data.last30.failed, data.last30.total),
          runs7: data.last7,
          runs30: data.last30,
          mttr: formatDuration(data.meanTimeToResolveSeconds),
          resolved: data.resolvedCount,
        },
        topWorkflows: data.topWorkflows,
        failureTypes: data.failureTypes,
        backlog,
        charts: {
          daily: runColumns(data.daily, { title: 'Runs per day, last 30 days: passed and failed' }),
          workflows: barChart(
            data.topWorkflows.map((w) => ({
              label: `${w.repository} · ${w.workflow}`,
              value: w.failed,
              detail: `of ${w.total}`,
            })),
            {
              title: 'Top failing workflows, last 30 days',
              color: '#cf222e',
              labelWidth: 230,
              width: 480,
            },
          ),
          types: barChart(
            data.failureTypes.map((t) => ({
              label: t.type,
              value: t.count,
              color: TYPE_COLOURS[t.type] ?? '#8c959f',
            })),
            { title: 'Incidents by failure type, last 30 days' },
          ),
        },
      });
    },
  );
};

export default dashboardPages;
