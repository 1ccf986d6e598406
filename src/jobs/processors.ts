// The processor table: job name → function. Both queue backends run exactly these.
// Dependencies are plain objects (no Fastify), so worker.ts can build them too.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Db } from '../db/client.ts';
import type { GitHubAccess } from '../github/github-access.ts';
import { pruneData } from '../services/prune-data.ts';
import { backfillRuns } from '../services/repositories/backfill-runs.ts';
import { createAnalyseIncidentProcessor } from './analyse-incident.ts';
import { toJobError } from './github-job-error.ts';
import { interruptedByShutdown, type Processors } from './types.ts';

export interface JobDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  log: FastifyBaseLogger;
  /** GitHub clients and tokens acting as a user (refreshed, single-flight). */
  github: GitHubAccess;
}

export function createProcessors(deps: JobDeps): Processors {
  return {
    'analyse-incident': createAnalyseIncidentProcessor({
      db: deps.db,
      github: deps.github,
      log: deps.log,
    }),
    'prune-data': async (data, ctx) => {
      const result = await pruneData(deps.db, {
        payloadRetentionDays: data.olderThanDays ?? deps.config.webhookPayloadRetentionDays,
      });
      ctx.log.info(result, 'pruned old data');
    },
    'backfill-runs': async (data, ctx) => {
      try {
        const result = await backfillRuns(
          { db: deps.db, github: deps.github, limit: deps.config.backfillRuns },
          data.connectionId,
          ctx.signal,
        );
        ctx.log.info({ connectionId: data.connectionId, ...result }, 'runs backfilled');
      } catch (err) {
        throw toJobError(interruptedByShutdown(err, ctx, 'backfill'));
      }
    },
  };
}
