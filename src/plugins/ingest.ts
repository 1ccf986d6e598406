// Decorates app.ingest: the one ingestion service (group commit, secret cache, incident
// hooks) behind both the webhook routes and the replay of a stored delivery, so a replay
// takes exactly the path — and shares the bounds — of a delivery from GitHub. Closing lets
// every accepted delivery commit.
import fp from 'fastify-plugin';
import {
  createIngestService,
  type IngestLimits,
  type IngestService,
} from '../services/ingest/ingest-service.ts';
import type { RunRecordedHook } from '../services/ingest/types.ts';

declare module 'fastify' {
  interface FastifyInstance {
    ingest: IngestService;
  }
}

export interface IngestPluginOptions {
  /** Run inside each delivery's transaction after runs/jobs are written (incident logic). */
  hooks?: readonly RunRecordedHook[] | undefined;
  /** How much may wait for a transaction (defaults in ingest-service.ts; tests lower them). */
  limits?: IngestLimits | undefined;
}

/**
 * Transactions ingestion keeps in flight on Postgres (the pool has 10; PGlite has one
 * connection). Two keeps the database busy while Node prepares the next group; more only
 * makes each group smaller and its transaction slower (measured: see the README).
 */
const POSTGRES_CONCURRENCY = 2;
/**
 * The second transaction starts only once this many deliveries wait: a transaction costs
 * Postgres ~0.7 ms of CPU whatever its size, plus ~0.3 ms a delivery (measured), so at
 * moderate rates fewer, larger groups cost less than two lanes of one or two each.
 */
const POSTGRES_EXTRA_LANE_AT = 8;

export default fp<IngestPluginOptions>(
  async (app, opts) => {
    const ingest = createIngestService({
      db: app.db,
      secretBox: app.secretBox,
      log: app.log,
      hooks: opts.hooks ?? [],
      concurrency: app.database.kind === 'pglite' ? 1 : POSTGRES_CONCURRENCY,
      extraLaneAt: POSTGRES_EXTRA_LANE_AT,
      ...opts.limits,
    });
    app.decorate('ingest', ingest);
    app.addHook('onClose', () => ingest.drain());
  },
  { name: 'ffx-ingest', dependencies: ['ffx-config', 'ffx-db', 'ffx-crypto'] },
);
