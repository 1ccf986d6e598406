// The caller's own account (mounted at /api/v2): GET /me, POST /auth/logout.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createOAuthConnectionsStore } from '../../../db/stores/oauth-connections-store.ts';
import { errors } from '../../../errors.ts';
import { endSession } from '../../../plugins/auth.ts';
import { ErrorResponse, Me, cookieOrBearer } from './schemas.ts';

const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const connections = createOAuthConnectionsStore(app.db);

  app.get(
    '/me',
    {
      preHandler: app.requireScope('account:read'),
      schema: {
        tags: ['account'],
        summary: 'Who is calling: the user, how they authenticated, their GitHub status',
        security: cookieOrBearer,
        response: { 200: Me, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request) => {
      const user = request.user!;
      const auth = request.auth!;
      const connection = await connections.getForUser(user.id);
      return {
        id: user.id,
        login: user.login,
        name: user.name,
        avatar_url: user.avatarUrl,
        auth: { kind: auth.kind, scopes: [...auth.scopes], token_id: auth.tokenId ?? null },
        csrf_token: auth.kind === 'session' ? (request.session?.csrfToken ?? null) : null,
        github: connection
          ? {
              status:
                connection.status === 'active' ? ('active' as const) : ('needs_reconnect' as const),
              status_reason: connection.statusReason,
            }
          : { status: 'not_connected' as const, status_reason: null },
      };
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['account'],
        summary: 'End the browser session (deletes it server-side); needs x-csrf-token',
        security: [{ session: [] }],
        response: { 204: Type.Null(), 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request, reply) => {
      if (request.headers.authorization !== undefined)
        throw new errors.BAD_REQUEST(
          'Logout ends a browser session; to stop an API token, deactivate or delete it (/api/v2/tokens/:id)',
        );
      if (!request.session) throw new errors.UNAUTHENTICATED('Not signed in');
      const presented =
        request.headers['x-csrf-token'] ?? (request.body as { _csrf?: unknown } | null)?._csrf;
      if (!app.sessions.csrfMatches(request.session.csrfToken, presented)) throw new errors.CSRF();
      await endSession(request, reply);
      return reply.status(204).send(null);
    },
  );
};

export default accountRoutes;
