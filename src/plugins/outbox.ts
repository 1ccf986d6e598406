// Decorates app.outbox: the dispatcher that moves outbox rows onto the queue, running in
// this process when it runs the workers (RUN_WORKERS, always without Redis); otherwise the
// worker process (src/worker.ts) runs it. Started once the app is ready, stopped on close
// before the queue closes, so a pass in progress finishes against an open queue. With the
// in-process runner, analyses a previous process left unfinished are asked for again first.
import fp from 'fastify-plugin';
import { resumeInterruptedAnalyses } from '../services/incidents/resume-analyses.ts';
import { createOutboxDispatcher, type OutboxDispatcher } from '../services/outbox/dispatcher.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Null when another process dispatches (RUN_WORKERS=false). */
    outbox: OutboxDispatcher | null;
  }
}

export default fp(
  async (app) => {
    const dispatcher = app.config.runWorkers
      ? createOutboxDispatcher({
          db: app.db,
          queue: app.queue,
          log: app.log.child({ component: 'outbox' }),
        })
      : null;
    app.decorate('outbox', dispatcher);
    if (!dispatcher) return;
    app.addHook('onReady', async () => {
      // In-memory jobs did not survive the last stop: ask again for what they were doing.
      if (app.queue.kind === 'in-process') {
        const resumed = await resumeInterruptedAnalyses(app.db);
        if (resumed > 0) app.log.info({ resumed }, 'resuming analyses interrupted by a restart');
      }
      dispatcher.start();
    });
    app.addHook('preClose', async () => dispatcher.stop());
  },
  { name: 'ffx-outbox', dependencies: ['ffx-db', 'ffx-queue'] },
);
