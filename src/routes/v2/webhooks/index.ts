// Webhook deliveries (mounted at /api/v2/webhooks): replaying a stored delivery through
// ingestion (services/ingest/replay-delivery.ts). Owner-scoped: another user's delivery
// answers 404.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { replayDelivery } from '../../../services/ingest/replay-delivery.ts';
import { DeliveryParams, Replayed, cookieOrBearer, errorsFor } from './schemas.ts';

const webhookApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['webhooks'];

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
      const result = await replayDelivery(
        {
          db: app.db,
          ingest: app.ingest,
          retentionDays: app.config.webhookPayloadRetentionDays,
        },
        request.user!.id,
        request.params.id,
      );
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
