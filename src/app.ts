// buildApp(config): the one app factory, used by server.ts and by every test. Plugins and
// routes are registered here, explicitly, in the order data flows through them.
import { STATUS_CODES } from 'node:http';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { DatabaseHandle } from './db/client.ts';
import { redisErrorListener } from './jobs/bullmq-queue.ts';
import type { JobQueue, Processors } from './jobs/types.ts';
import { ASSETS_DIR } from './paths.ts';
import { loggerOptions, type LogDestination } from './logger.ts';
import authPlugin from './plugins/auth.ts';
import configPlugin from './plugins/config.ts';
import cryptoPlugin from './plugins/crypto.ts';
import dbPlugin from './plugins/db.ts';
import githubPlugin from './plugins/github.ts';
import ingestPlugin from './plugins/ingest.ts';
import outboxPlugin from './plugins/outbox.ts';
import queuePlugin from './plugins/queue.ts';
import viewPlugin from './plugins/view.ts';
import adminRoutes from './routes/admin/index.ts';
import accountPages from './routes/admin/account.ts';
import dashboardPages from './routes/admin/dashboard.ts';
import incidentPages from './routes/admin/incidents.ts';
import loginPages from './routes/admin/login.ts';
import tokenPages from './routes/admin/tokens.ts';
import repositoryPages from './routes/admin/repositories.ts';
import runPages from './routes/admin/runs.ts';
import deliveryPages from './routes/admin/deliveries.ts';
import healthRoutes from './routes/health.ts';
import accountRoutes from './routes/v2/account/index.ts';
import oauthRoutes from './routes/v2/oauth/index.ts';
import incidentRoutes from './routes/v2/incidents/index.ts';
import tokenRoutes from './routes/v2/tokens/index.ts';
import repositoryRoutes from './routes/v2/repositories/index.ts';
import workflowRoutes from './routes/v2/workflows/index.ts';
import webhookApiRoutes from './routes/v2/webhooks/index.ts';
import webhookRoutes from './routes/v1/webhook/index.ts';
import { createIncidentHook } from './services/incidents/on-run-recorded.ts';
import type { IngestLimits } from './services/ingest/ingest-service.ts';

export interface AppDeps {
  /** An already-open database (tests: a fresh one per file). */
  database?: DatabaseHandle;
  queue?: JobQueue;
  processors?: Processors;
  /** Where logs go (tests capture them to check no secret was logged). */
  logStream?: LogDestination;
  /** In-process runner backoff base, ms (tests shorten it). */
  jobBackoffMs?: number;
  /** How long a BullMQ enqueue waits for Redis, ms (tests of outages shorten it). */
  jobEnqueueTimeoutMs?: number;
  /** Webhook ingestion's queue limits (tests lower them to reach saturation). */
  ingestLimits?: IngestLimits;
}

/**
 * Where rate-limit counters live in Redis: beside the deployment's queue keys
 * (`{QUEUE_PREFIX}:…`), not among them, where BullMQ tools would take them for a queue.
 */
export function rateLimitNamespace(queuePrefix: string): string {
  return `${queuePrefix}-rl:`;
}

export async function buildApp(config: Config, deps: AppDeps = {}) {
  const app = Fastify({
    logger: deps.logStream
      ? { ...loggerOptions(config.logLevel), stream: deps.logStream }
      : loggerOptions(config.logLevel),
    // A hop count is valid for proxy-addr; Fastify's overload types just omit it.
    trustProxy: config.trustProxy as boolean | string,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: true, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      error: 'Not Found',
      code: 'FFX_ERR_NOT_FOUND',
      message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
    });
  });

  // Infrastructure: configuration, storage, secrets, ingestion, queue.
  await app.register(configPlugin, { config });
  await app.register(dbPlugin, { database: deps.database });
  await app.register(cryptoPlugin);
  // Verified delivery → runs/jobs (+ hooks: incident logic) in one transaction.
  await app.register(ingestPlugin, { hooks: [createIncidentHook()], limits: deps.ingestLimits });
  await app.register(githubPlugin);
  await app.register(queuePlugin, {
    queue: deps.queue,
    processors: deps.processors,
    backoffMs: deps.jobBackoffMs,
    enqueueTimeoutMs: deps.jobEnqueueTimeoutMs,
  });
  await app.register(outboxPlugin);

  // HTTP hardening and shared request plumbing.
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'", config.github.webUrl],
        upgradeInsecureRequests: null,
      },
    },
    hsts: config.publicUrl.startsWith('https:'),
  });
  const rateLimitRedis = config.redisUrl
    ? new Redis(config.redisUrl, {
        maxRetriesPerRequest: 1,
        connectTimeout: 1000,
        enableOfflineQueue: false,
      })
    : undefined;
  // Limits are skipped while Redis is down (skipOnError); say so in one line, not a trace.
  rateLimitRedis?.on('error', redisErrorListener(app.log, 'rate limiting: Redis error'));
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    ...(rateLimitRedis
      ? { redis: rateLimitRedis, nameSpace: rateLimitNamespace(config.queuePrefix) }
      : {}),
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: 'Too Many Requests',
      code: 'FFX_ERR_RATE_LIMITED',
      message: `Rate limit exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });
  if (rateLimitRedis) app.addHook('onClose', async () => void rateLimitRedis.disconnect());
  await app.register(cookie, { secret: config.sessionSecret, hook: 'onRequest' });
  await app.register(formbody, { bodyLimit: 1024 * 1024 });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Flowfix API',
        version: '1',
        description: 'Webhook ingestion (v1) and the REST API for scripts (v2).',
      },
      components: {
        securitySchemes: {
          apiToken: { type: 'http', scheme: 'bearer', description: 'An API token: ffx_…' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'ffx_session',
            description:
              'Browser session (sign in at /admin/login); unsafe methods also need the x-csrf-token header',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  await app.register(viewPlugin);
  await app.register(authPlugin);
  await app.register(fastifyStatic, {
    root: ASSETS_DIR,
    prefix: '/assets/',
    maxAge: '1h',
    decorateReply: false,
  });

  // Routes, in the order data flows.
  await app.register(healthRoutes);
  // GitHub → verified delivery → app.ingest.
  await app.register(webhookRoutes, { prefix: '/api/v1/webhook' });
  // People: GitHub sign-in and connection, their account, their API tokens.
  await app.register(oauthRoutes, { prefix: '/api/v2' });
  await app.register(accountRoutes, { prefix: '/api/v2' });
  await app.register(tokenRoutes, { prefix: '/api/v2' });
  // Repositories they connect (webhook + backfill) and the runs recorded for them.
  await app.register(repositoryRoutes, { prefix: '/api/v2/repositories' });
  await app.register(workflowRoutes, { prefix: '/api/v2/workflows' });
  // What their webhooks delivered: a stored delivery replayed through app.ingest.
  await app.register(webhookApiRoutes, { prefix: '/api/v2/webhooks' });
  // Incidents raised by the hook above, and their analyses.
  await app.register(incidentRoutes, { prefix: '/api/v2/incidents' });
  await app.register(adminRoutes, { prefix: '/admin' });
  await app.register(loginPages, { prefix: '/admin' });
  await app.register(accountPages, { prefix: '/admin' });
  await app.register(tokenPages, { prefix: '/admin' });
  await app.register(dashboardPages, { prefix: '/admin' });
  await app.register(incidentPages, { prefix: '/admin' });
  await app.register(repositoryPages, { prefix: '/admin' });
  await app.register(runPages, { prefix: '/admin' });
  await app.register(deliveryPages, { prefix: '/admin' });
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/admin'));

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

const CODE_MAP: Record<string, string> = {
  FST_ERR_VALIDATION: 'FFX_ERR_VALIDATION',
  FST_ERR_CTP_BODY_TOO_LARGE: 'FFX_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FFX_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FFX_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FFX_ERR_BAD_REQUEST',
};

function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status =
    err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ code: err.code, status }, err.message);
  let code = err.code?.startsWith('FFX_ERR_') ? err.code : (CODE_MAP[err.code] ?? undefined);
  if (err.validation) code = 'FFX_ERR_VALIDATION';
  code ??=
    status >= 500
      ? 'FFX_ERR_INTERNAL'
      : status === 404
        ? 'FFX_ERR_NOT_FOUND'
        : 'FFX_ERR_BAD_REQUEST';
  const message = status >= 500 && status !== 503 ? 'Internal server error' : err.message;
  const body = { error: STATUS_CODES[status] ?? 'Error', code, message };
  // People in a browser get a page; scripts get JSON.
  if (request.url.startsWith('/admin') && typeof reply.page === 'function') {
    void reply.status(status).page('error', { title: body.error, ...body, status });
    return;
  }
  void reply.status(status).send(body);
}
