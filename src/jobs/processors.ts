// The processor table: job name → function. Both queue backends run exactly these.
// Dependencies are plain objects (no Fastify), so worker.ts can build them too.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Db } from '../db/client.ts';
import { pruneData } from '../services/prune-data.ts';
import type { Processors } from './types.ts';

export interface JobDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  log: FastifyBaseLogger;
}

export function createProcessors(deps: JobDeps): Processors {
  return {
    'prune-data': async (data, ctx) => {
      const result = await pruneData(deps.db, {
        payloadRetentionDays: data.olderThanDays ?? deps.config.webhookPayloadRetentionDays,
      });
      ctx.log.info(result, 'pruned old data');
    },
  };
}
