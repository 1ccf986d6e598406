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
}

export default fp<QueuePluginOptions>(
  async (app, opts) => {
    const { config } = app;
    const processors = opts.processors ?? createProcessors(app);
    let workers: BullmqWorkers | undefined;
    let queue: JobQueue;
    if (opts.queue) queue = opts.queue;
    else if (config.redisUrl) {
      queue = createBullmqQueue(config.redisUrl);
      if (config.runWorkers) workers = startBullmqWorkers(config.redisUrl, processors, app.log);
    } else {
      queue = createInProcessQueue(processors, app.log, { backoffMs: opts.backoffMs });
    }
    app.decorate('queue', queue);
    app.addHook('onClose', async () => {
      await workers?.close();
      if (!opts.queue) await queue.close();
    });
  },
  { name: 'ffx-queue', dependencies: ['ffx-config', 'ffx-db', 'ffx-crypto'] },
);
