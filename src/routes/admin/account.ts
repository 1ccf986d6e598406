// Account page (mounted at /admin): the GitHub connection — status, including "needs
// reconnect" with a reconnect button — its scopes and token lifetimes, and disconnecting.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createOAuthConnectionsStore } from '../../db/stores/oauth-connections-store.ts';
import { disconnectGitHub } from '../../services/auth/disconnect-github.ts';
import { connectionView } from '../v2/oauth/index.ts';

const accountPages: FastifyPluginAsyncTypebox = async (app) => {
  const connections = createOAuthConnectionsStore(app.db);

  app.get(
    '/account',
    { preHandler: app.requirePageUser, schema: { hide: true } },
    async (request, reply) => {
      const user = request.user!;
      const row = await connections.getForUser(user.id);
      return reply.page('admin/account', {
        title: 'Account',
        account: user,
        connection: row ? connectionView(row, user.login) : null,
        reconnectUrl: `/api/v2/oauth/github/authorize?returnTo=${encodeURIComponent('/admin/account')}`,
        githubWebUrl: app.config.github.webUrl,
      });
    },
  );

  app.post(
    '/account/disconnect',
    { preHandler: app.requirePageUser, schema: { hide: true } },
    async (request, reply) => {
      const userId = request.user!.id;
      if (!(await connections.getForUser(userId))) {
        reply.flash('error', 'No GitHub account is connected.');
        return reply.redirect('/admin/account', 303);
      }
      const result = await disconnectGitHub(
        {
          db: app.db,
          config: app.config,
          secretBox: app.secretBox,
          log: request.log,
          github: app.github,
        },
        userId,
      );
      const parts = [
        'GitHub is disconnected.',
        result.upstreamRevoked
          ? 'Flowfix’s access was revoked on GitHub.'
          : 'GitHub could not be reached to revoke access: remove Flowfix under Settings → Applications on GitHub.',
        `${result.repositoriesRemoved} repository connection(s) removed`,
        result.webhooksFailed > 0
          ? `(${result.webhooksFailed} webhook(s) could not be deleted on GitHub; delete them in each repository’s settings).`
          : '.',
      ];
      reply.flash(result.upstreamRevoked ? 'success' : 'info', parts.join(' ').replace(' .', '.'));
      return reply.redirect('/admin/account', 303);
    },
  );
};

export default accountPages;
