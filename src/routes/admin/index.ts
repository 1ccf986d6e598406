// Admin pages (server-rendered). This file owns the setup page and mounts the others.
import type { FastifyPluginAsync } from 'fastify';
import { setupStatus } from '../../services/setup-status.ts';

const adminRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    return reply.page('admin/setup', {
      title: 'Setup',
      setup: setupStatus(app.config, app.database, app.queue),
    });
  });
};

export default adminRoutes;
