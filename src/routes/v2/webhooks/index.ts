// Webhook deliveries (mounted at /api/v2/webhooks): the log of what the user's hooks
// delivered, one delivery with its kept payload, and replaying a stored delivery through
// ingestion (services/ingest/replay-delivery.ts). Owner-scoped: another user's delivery
// answers 404. Deliveries are repository data: read with repos:read, replay with repos:write.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_HOOK_KEY } from '../../../services/ingest/record-webhook.ts';
import {
  getDelivery,
  listDeliveries,
  type DeliveryListRow,
} from '../../../services/ingest/read-deliveries.ts';
import {
  originalDeliveryId,
  replayDelivery,
  replayDepsOf,
  replayNumber,
} from '../../../services/ingest/replay-delivery.ts';
import {
  DeliveryDetail,
  DeliveryList,
  DeliveryListQuery,
  DeliveryParams,
  Replayed,
  cookieOrBearer,
  errorsFor,
} from './schemas.ts';

type Outcome = 'processed' | 'ignored' | 'error';

function deliveryJson(d: DeliveryListRow) {
  const number = replayNumber(d.deliveryId);
  return {
    id: d.id,
    delivery_id: d.deliveryId,
    replay: number === null ? null : { number, of_delivery_id: originalDeliveryId(d.deliveryId) },
    // The store lists deliveries of the user's connections only: never null here.
    connection_id: d.connectionId!,
    repository: d.repositoryFullName!,
    hook: d.hookKey === APP_HOOK_KEY ? ('app' as const) : ('repository' as const),
    event: d.event,
    action: d.action,
    outcome: d.outcome as Outcome,
    reason: d.error,
    duration_ms: d.durationMs,
    received_at: d.receivedAt.toISOString(),
  };
}

const webhookApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['webhooks'];

  app.get(
    '/deliveries',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: "Your hooks' deliveries, newest first (keyset pagination)",
        description:
          'Every delivery recorded for your connections, with its outcome. Filters: connection_id, event, outcome. Needs the repos:read scope.',
        security: cookieOrBearer,
        querystring: DeliveryListQuery,
        response: { 200: DeliveryList, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await listDeliveries(
        app.db,
        request.user!.id,
        { connectionId: q.connection_id, event: q.event, outcome: q.outcome },
        { limit: q.limit, cursor: q.cursor },
      );
      return { items: page.items.map(deliveryJson), next_cursor: page.next };
    },
  );

  app.get(
    '/deliveries/:id',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: 'One delivery with its payload',
        description:
          'The payload is the JSON GitHub sent, while it is kept (WEBHOOK_PAYLOAD_RETENTION_DAYS); null afterwards. Needs the repos:read scope.',
        security: cookieOrBearer,
        params: DeliveryParams,
        response: { 200: DeliveryDetail, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { delivery, payloadText } = await getDelivery(
        app.db,
        request.user!.id,
        request.params.id,
      );
      // The stored text (JSON that was parsed when it arrived) goes out as it is: parsing
      // and serialising a 25 MB payload again would hold the event loop for a while.
      // (A string body is sent as is; the schema above still documents its shape.)
      const head = JSON.stringify({ ...deliveryJson(delivery), payload: null });
      const body = payloadText === null ? head : `${head.slice(0, -'null}'.length)}${payloadText}}`;
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.post(
    '/deliveries/:id/replay',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: "Process a stored delivery's payload again",
        description:
          'The kept payload goes through ingestion like a delivery from GitHub and is recorded as a new delivery `{delivery id}:replay:{n}` of the same connection; the original stays as it was. 410 when the payload is no longer kept (WEBHOOK_PAYLOAD_RETENTION_DAYS) or was never kept. Needs the repos:write scope.',
        security: cookieOrBearer,
        params: DeliveryParams,
        response: { 200: Replayed, ...errorsFor(400, 401, 403, 404, 410, 503) },
      },
    },
    async (request) => {
      const result = await replayDelivery(replayDepsOf(app), request.user!.id, request.params.id);
      request.log.info(
        { replayOf: result.replayOf, deliveryId: result.deliveryId, outcome: result.outcome },
        'delivery replayed',
      );
      return {
        id: result.id,
        delivery_id: result.deliveryId,
        replay_of: result.replayOf,
        outcome: result.outcome,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
      };
    },
  );
};

export default webhookApiRoutes;
