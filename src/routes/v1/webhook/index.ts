// Webhook ingestion: POST /api/v1/webhook/github/:connectionId (a repository hook Flowfix
// created, signed with that connection's secret) and POST /api/v1/webhook/github (an
// app-level hook signed with GITHUB_WEBHOOK_SECRET). The body arrives as raw bytes (this
// plugin's own content-type parsers), is verified, and only then parsed. A 2xx is sent
// only after the delivery's transaction committed (app.ingest: services/ingest).
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../../errors.ts';
import { decodeWebhookBody } from '../../../services/ingest/decode-body.ts';
import type { DeliveryRoute } from '../../../services/ingest/types.ts';
import { verifySignature } from '../../../services/ingest/verify-signature.ts';
import { appWebhookSchema, connectionWebhookSchema } from './schemas.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT = /^[a-z_]{1,64}$/;
const DELIVERY = /^[A-Za-z0-9-]{1,100}$/;
const BAD_SIGNATURE = 'X-Hub-Signature-256 is missing or does not match the body';

const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, ingest } = app;

  // Raw bytes for both encodings GitHub uses; anything else is 415 before any work.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: config.webhookBodyLimit },
    (_request, body, done) => done(null, body),
  );

  const routeOptions = {
    bodyLimit: config.webhookBodyLimit,
    // GitHub is not a client to throttle; ingestion is also what must stay fast, so
    // per-request log lines are left out (every delivery is recorded in the database), and
    // so are the browser security headers (these answers are small JSON for a machine).
    config: { rateLimit: false },
    logLevel: 'warn' as const,
    helmet: false as const,
  };

  async function accept(
    request: FastifyRequest,
    reply: FastifyReply,
    route: DeliveryRoute,
    text: string,
  ) {
    const startedAt = performance.now() - reply.elapsedTime;
    const event = request.headers['x-github-event'];
    const deliveryId = request.headers['x-github-delivery'];
    if (typeof event !== 'string' || !EVENT.test(event)) {
      throw new errors.BAD_REQUEST('X-GitHub-Event is missing or malformed');
    }
    if (typeof deliveryId !== 'string' || !DELIVERY.test(deliveryId)) {
      throw new errors.BAD_REQUEST('X-GitHub-Delivery is missing or malformed');
    }
    const decoded = decodeWebhookBody(text, request.headers['content-type']);
    if (!decoded.ok) throw new errors.BAD_REQUEST(decoded.error);
    const result = await ingest.record({
      route,
      deliveryId,
      event,
      payloadJson: decoded.json,
      payload: decoded.payload,
      startedAt,
      receivedAt: new Date(Date.now() - reply.elapsedTime),
    });
    switch (result.outcome) {
      case 'unknown_connection':
        throw new errors.NOT_FOUND('Connection');
      case 'invalid':
        throw new errors.BAD_REQUEST(result.reason ?? 'Payload is not usable');
      default:
        return reply
          .status(200)
          .send(
            result.reason === undefined
              ? { outcome: result.outcome }
              : { outcome: result.outcome, reason: result.reason },
          );
    }
  }

  app.post(
    '/github/:connectionId',
    { ...routeOptions, schema: connectionWebhookSchema },
    async (request, reply) => {
      const { connectionId } = request.params;
      if (!UUID.test(connectionId)) throw new errors.NOT_FOUND('Connection');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const check = await ingest.secrets.verify(
        connectionId.toLowerCase(),
        body,
        request.headers['x-hub-signature-256'],
      );
      if (check.status === 'unknown_connection') throw new errors.NOT_FOUND('Connection');
      if (check.status === 'bad_signature') throw new errors.WEBHOOK_SIGNATURE(BAD_SIGNATURE);
      return accept(request, reply, { kind: 'connection', ...check.connection }, check.text);
    },
  );

  app.post('/github', { ...routeOptions, schema: appWebhookSchema }, async (request, reply) => {
    const secret = config.github.webhookSecret;
    if (secret === undefined) {
      throw new errors.UNAVAILABLE(
        'The app-level webhook is not configured: set GITHUB_WEBHOOK_SECRET, or use the per-repository hook URL Flowfix creates',
      );
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const text = await verifySignature([secret], body, request.headers['x-hub-signature-256']);
    if (text === null) throw new errors.WEBHOOK_SIGNATURE(BAD_SIGNATURE);
    return accept(request, reply, { kind: 'app' }, text);
  });
};

export default webhookRoutes;
