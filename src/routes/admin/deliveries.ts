// Deliveries page (mounted at /admin): every webhook delivery of the user's connections,
// newest first, with filters; one delivery with its payload while it is retained, and a
// button that replays it through ingestion.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { createWebhookDeliveriesStore } from '../../db/stores/webhook-deliveries-store.ts';
import { storedPayloadText } from '../../services/ingest/payload-text.ts';
import { listDeliveries } from '../../services/ingest/read-deliveries.ts';
import {
  originalDeliveryId,
  replayDelivery,
  replayDepsOf,
  replayNumber,
} from '../../services/ingest/replay-delivery.ts';

const PAGE_SIZE = 50;
const OUTCOMES = ['processed', 'ignored', 'error'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Payloads are shown pretty-printed up to this size; larger ones are cut. */
const MAX_PAYLOAD_CHARS = 200_000;

const ListQuery = Type.Object({
  connection_id: Type.Optional(Type.String({ maxLength: 36 })),
  event: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['', ...OUTCOMES] })),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
});

function listUrl(filters: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `/admin/deliveries?${query}` : '/admin/deliveries';
}

const deliveryPages: FastifyPluginAsyncTypebox = async (app) => {
  const deliveries = createWebhookDeliveriesStore(app.db);
  const connections = createRepositoryConnectionsStore(app.db);

  app.get(
    '/deliveries',
    { preHandler: app.requirePageUser, schema: { hide: true, querystring: ListQuery } },
    async (request, reply) => {
      const userId = request.user!.id;
      const q = request.query;
      const filters = {
        connection_id: q.connection_id && UUID.test(q.connection_id) ? q.connection_id : undefined,
        event: q.event?.trim() || undefined,
        outcome: q.outcome || undefined,
      };
      const [page, repos] = await Promise.all([
        listDeliveries(
          app.db,
          userId,
          { connectionId: filters.connection_id, event: filters.event, outcome: filters.outcome },
          { limit: PAGE_SIZE, cursor: q.cursor },
        ),
        connections.allForUser(userId),
      ]);
      return reply.page('admin/deliveries', {
        title: 'Deliveries',
        deliveries: page.items,
        filters,
        repositories: repos.map((c) => ({ id: c.id, fullName: c.fullName })),
        outcomes: OUTCOMES,
        retentionDays: app.config.webhookPayloadRetentionDays,
        firstUrl: q.cursor ? listUrl(filters) : null,
        nextUrl: page.next ? listUrl({ ...filters, cursor: page.next }) : null,
      });
    },
  );

  app.get(
    '/deliveries/:id',
    {
      preHandler: app.requirePageUser,
      schema: { hide: true, params: Type.Object({ id: Type.String({ maxLength: 36 }) }) },
    },
    async (request, reply) => {
      const delivery = UUID.test(request.params.id)
        ? await deliveries.findById(request.user!.id, request.params.id)
        : undefined;
      if (!delivery) {
        return reply.code(404).page('admin/deliveries-missing', { title: 'Delivery not found' });
      }
      const text = await storedPayloadText(delivery);
      const pretty = text === null ? null : JSON.stringify(JSON.parse(text), null, 2);
      return reply.page('admin/deliveries-detail', {
        title: `Delivery ${delivery.deliveryId}`,
        delivery,
        payload:
          pretty !== null && pretty.length > MAX_PAYLOAD_CHARS
            ? `${pretty.slice(0, MAX_PAYLOAD_CHARS)}\n… (${pretty.length - MAX_PAYLOAD_CHARS} more characters)`
            : pretty,
        retentionDays: app.config.webhookPayloadRetentionDays,
        replay:
          replayNumber(delivery.deliveryId) === null
            ? null
            : {
                number: replayNumber(delivery.deliveryId),
                of: originalDeliveryId(delivery.deliveryId),
              },
      });
    },
  );

  app.post(
    '/deliveries/:id/replay',
    {
      preHandler: app.requirePageUser,
      schema: { hide: true, params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
    },
    async (request, reply) => {
      try {
        const result = await replayDelivery(replayDepsOf(app), request.user!.id, request.params.id);
        reply.flash(
          result.outcome === 'processed'
            ? 'success'
            : result.outcome === 'invalid'
              ? 'error'
              : 'info',
          `Replayed as ${result.deliveryId}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}.`,
        );
        if (result.id) return reply.redirect(`/admin/deliveries/${result.id}`, 303);
      } catch (err) {
        const status = (err as FastifyError).statusCode ?? 500;
        // Gone (payload not kept) or saturated: say so on the delivery's page.
        if (status !== 410 && status !== 503) throw err;
        reply.flash('error', `Not replayed: ${(err as Error).message}`);
      }
      return reply.redirect(`/admin/deliveries/${request.params.id}`, 303);
    },
  );
};

export default deliveryPages;
