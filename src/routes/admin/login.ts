// Sign-in page and sign-out (mounted at /admin). Signing in itself is the GitHub web flow
// under /api/v2/oauth/github; this page links to it, or says exactly what to configure.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { endSession } from '../../plugins/auth.ts';
import { DEFAULT_RETURN_TO, safeReturnTo } from '../../services/auth/return-to.ts';

const loginPages: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;

  app.get(
    '/login',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2000 })) }),
      },
    },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo, config.publicUrl) ?? DEFAULT_RETURN_TO;
      if (request.user && request.auth?.kind === 'session') return reply.redirect(returnTo, 302);
      return reply.page('admin/login', {
        title: 'Sign in',
        configured: Boolean(config.github.clientId && config.github.clientSecret),
        authorizeUrl: `/api/v2/oauth/github/authorize?returnTo=${encodeURIComponent(returnTo)}`,
        githubWebUrl: config.github.webUrl,
        callbackUrl: `${config.publicUrl}/api/v2/oauth/github/callback`,
        scopes: config.github.oauthScopes.join(' '),
      });
    },
  );

  app.post(
    '/logout',
    { preHandler: app.requirePageUser, schema: { hide: true } },
    async (request, reply) => {
      await endSession(request, reply);
      reply.flash('info', 'You are signed out.');
      return reply.redirect('/admin/login', 303);
    },
  );
};

export default loginPages;
