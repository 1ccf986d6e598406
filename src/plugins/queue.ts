// Decorates app.queue: BullMQ when REDIS_URL is set, the in-process runner otherwise.
// With RUN_WORKERS (always, without Redis) this process also runs the processors.
import fp from 'fastify-plugin';
import { createBullmqQueue, startBullmqWorkers, type BullmqWorkers } from '../jobs/bullmq-queue.ts';
import { createInProcessQueue } from '../jobs/in-process-queue.ts';
import { createProcessors } from '../jobs/processors.ts';
import type { JobQueue, Processors } from '../jobs/types.ts';

declare module 'fastify' {
  interface FastifyInstance {
    queue: JobQueue;
  }
}

export interface QueuePluginOptions {
  queue?: JobQueue | undefined;
  /** Replaces the real processors (tests of the plumbing itself). */
  processors?: Processors | undefined;
  backoffMs?: number | undefined;
  /** How long a BullMQ enqueue waits for Redis; tests shorten it. */
  enqueueTimeoutMs?: number | undefined;
}

export default fp<QueuePluginOptions>(
  async (app, opts) => {
    const { config } = app;
    const processors = opts.processors ?? createProcessors(app);
    let workers: BullmqWorkers | undefined;
    let queue: JobQueue;
    if (opts.queue) queue = opts.queue;
    else if (config.redisUrl) {
      const prefix = config.queuePrefix;
      queue = createBullmqQueue(config.redisUrl, {
        log: app.log,
        prefix,
        enqueueTimeoutMs: opts.enqueueTimeoutMs,
      });
      if (config.runWorkers) {
        workers = startBullmqWorkers(config.redisUrl, processors, app.log, { prefix });
      }
    } else {
      queue = createInProcessQueue(processors, app.log, { backoffMs: opts.backoffMs });
    }
    app.decorate('queue', queue);
    // Housekeeping once an hour; the job id is the hour, so several API processes
    // sharing one Redis queue it once.
    let prune: NodeJS.Timeout | undefined;
    if (config.runWorkers && !opts.processors) {
      prune = setInterval(() => {
        const hour = new Date().toISOString().slice(0, 13);
        queue.enqueue('prune-data', {}, { jobId: `prune-data-${hour}` }).catch((err: Error) => {
          app.log.warn({ err: err.message }, 'could not queue prune-data');
        });
      }, 3600_000);
      prune.unref();
    }
    app.addHook('onClose', async () => {
      clearInterval(prune);
      await workers?.close();
      if (!opts.queue) await queue.close();
    });
  },
  { name: 'ffx-queue', dependencies: ['ffx-config', 'ffx-db', 'ffx-crypto', 'ffx-github'] },
);
