// GitHub sign-in and connection (mounted at /api/v2).
//
// The web flow runs through @fastify/oauth2: it makes the random state and the PKCE (S256)
// verifier, keeps both in signed HttpOnly cookies scoped to /api/v2/oauth/github, checks the
// state on the callback, clears both cookies there (single use) and exchanges the code.
// Around it this file adds what GitHub and security.md need: the callback URL from
// PUBLIC_URL (never from Host headers), `returnTo` limited to same-origin paths, and
// checking `token.error` — GitHub answers a bad code with HTTP 200 and an error field,
// which the plugin hands back as if it were a token.
import oauth2, { type OAuth2Namespace } from '@fastify/oauth2';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthConnectionRow } from '../../../db/stores/oauth-connections-store.ts';
import { createOAuthConnectionsStore } from '../../../db/stores/oauth-connections-store.ts';
import { errors } from '../../../errors.ts';
import { OAuthTokenError, parseTokenAnswer } from '../../../github/oauth-token.ts';
import { startSession } from '../../../plugins/auth.ts';
import { disconnectGitHub } from '../../../services/auth/disconnect-github.ts';
import { signInWithGitHub } from '../../../services/auth/github-sign-in.ts';
import { DEFAULT_RETURN_TO, safeReturnTo } from '../../../services/auth/return-to.ts';
import {
  AuthorizeBody,
  AuthorizeQuery,
  AuthorizeResponse,
  CallbackQuery,
  Connection,
  ConnectionList,
  DisconnectResponse,
  ErrorResponse,
  HtmlPage,
  Redirect,
  cookieOrBearer,
} from './schemas.ts';

export const OAUTH_COOKIE_PATH = '/api/v2/oauth/github';
export const STATE_COOKIE = 'ffx_oauth_state';
export const VERIFIER_COOKIE = 'ffx_oauth_verifier';
export const RETURN_COOKIE = 'ffx_oauth_return';
const FLOW_TTL_SECONDS = 600;

/** Messages for GitHub's authorize-step errors; anything else gets a generic one. */
const AUTHORIZE_ERRORS: Record<string, string> = {
  access_denied:
    'You cancelled the GitHub authorization, so you are not signed in. Nothing was stored.',
  redirect_uri_mismatch:
    'GitHub refused the callback URL. The OAuth app’s callback URL must be PUBLIC_URL + /api/v2/oauth/github/callback.',
  application_suspended: 'The GitHub OAuth app is suspended; ask its owner.',
};

export function connectionView(row: OAuthConnectionRow, login: string) {
  return {
    provider: 'github' as const,
    login,
    github_user_id: row.providerUserId,
    status: row.status === 'active' ? ('active' as const) : ('needs_reconnect' as const),
    status_reason: row.statusReason,
    scopes: row.scopes.split(/[\s,]+/).filter(Boolean),
    token_expires_at: row.accessTokenExpiresAt?.toISOString() ?? null,
    refresh_token_expires_at: row.refreshTokenExpiresAt?.toISOString() ?? null,
    last_refreshed_at: row.lastRefreshedAt?.toISOString() ?? null,
    connected_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const oauthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;
  const { clientId, clientSecret, webUrl } = config.github;
  const secure = config.publicUrl.startsWith('https:');
  const cookieOptions = {
    path: OAUTH_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    signed: true,
  };
  const connections = createOAuthConnectionsStore(app.db);

  let github: OAuth2Namespace | null = null;
  if (clientId && clientSecret) {
    await app.register(oauth2, {
      name: 'githubOAuth2',
      scope: config.github.oauthScopes,
      credentials: {
        client: { id: clientId, secret: clientSecret },
        auth: {
          authorizeHost: webUrl,
          authorizePath: '/login/oauth/authorize',
          tokenHost: webUrl,
          tokenPath: '/login/oauth/access_token',
        },
        // GitHub documents client credentials in the body of the token request.
        options: { authorizationMethod: 'body' },
      },
      callbackUri: `${config.publicUrl}/api/v2/oauth/github/callback`,
      pkce: 'S256',
      redirectStateCookieName: STATE_COOKIE,
      verifierCookieName: VERIFIER_COOKIE,
      cookie: { ...cookieOptions, maxAge: FLOW_TTL_SECONDS },
      userAgent: 'flowfix',
    });
    github = app.getDecorator<OAuth2Namespace>('githubOAuth2');
  }

  async function authorizationUrl(
    request: FastifyRequest,
    reply: FastifyReply,
    returnTo: string | undefined,
  ): Promise<string> {
    if (!github) throw new errors.OAUTH_NOT_CONFIGURED();
    const target =
      returnTo === undefined ? DEFAULT_RETURN_TO : safeReturnTo(returnTo, config.publicUrl);
    if (target === null)
      throw new errors.BAD_REQUEST('returnTo must be a relative path on this site, like /admin');
    const url = await github.generateAuthorizationUri(request, reply);
    reply.setCookie(RETURN_COOKIE, target, { ...cookieOptions, maxAge: FLOW_TTL_SECONDS });
    return url;
  }

  app.post(
    '/oauth/github/authorize',
    {
      // The body is optional: an empty POST starts a flow that returns to /admin.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['oauth'],
        summary: 'Start GitHub sign-in (for JavaScript clients): returns the authorization URL',
        querystring: AuthorizeQuery,
        body: AuthorizeBody,
        response: { 200: AuthorizeResponse, 400: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const returnTo = request.body?.returnTo ?? request.query.returnTo;
      return { authorization_url: await authorizationUrl(request, reply, returnTo) };
    },
  );

  app.get(
    '/oauth/github/authorize',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Start GitHub sign-in (for browsers): redirects to GitHub',
        querystring: AuthorizeQuery,
        response: { 302: Redirect, 400: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const url = await authorizationUrl(request, reply, request.query.returnTo);
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/oauth/github/callback',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Where GitHub sends the browser back; signs in and redirects to returnTo',
        querystring: CallbackQuery,
        response: { 302: Redirect, 400: HtmlPage, 403: HtmlPage, 502: HtmlPage, 503: HtmlPage },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const returnCookie = request.cookies[RETURN_COOKIE];
      const fail = (status: 400 | 403 | 502 | 503, message: string, code: string) => {
        // Whatever happened, this flow is over: its state, verifier and target are spent.
        for (const name of [STATE_COOKIE, VERIFIER_COOKIE, RETURN_COOKIE])
          reply.clearCookie(name, cookieOptions);
        request.log.info({ code, status }, 'GitHub sign-in failed');
        return reply.status(status).page('admin/oauth-error', {
          title: 'Sign-in failed',
          message,
          code,
          oauthConfigured: github !== null,
        });
      };
      if (!github)
        return fail(503, new errors.OAUTH_NOT_CONFIGURED().message, 'FFX_ERR_OAUTH_NOT_CONFIGURED');
      if (q.error !== undefined) {
        const known = AUTHORIZE_ERRORS[q.error];
        const code = /^[a-z_]{1,64}$/.test(q.error) ? q.error : 'unknown_error';
        return fail(
          q.error === 'access_denied' ? 403 : 400,
          known ?? `GitHub did not authorize Flowfix (${code}). Nothing was stored.`,
          code,
        );
      }
      if (!q.code || !q.state)
        return fail(
          400,
          'The callback is missing its code or state. Start again.',
          'FFX_ERR_OAUTH_STATE',
        );
      if (!request.cookies[STATE_COOKIE])
        return fail(
          400,
          'This sign-in was not started in this browser, or took longer than 10 minutes. Start again.',
          'FFX_ERR_OAUTH_STATE',
        );

      let answer: unknown;
      try {
        // Clears the state and verifier cookies, checks the state, then exchanges the code.
        answer = (await github.getAccessTokenFromAuthorizationCodeFlow(request, reply)).token;
      } catch (err) {
        if ((err as Error).message === 'Invalid state')
          return fail(400, 'The sign-in state did not match. Start again.', 'FFX_ERR_OAUTH_STATE');
        const status = (err as { output?: { statusCode?: number } }).output?.statusCode;
        request.log.warn({ status: status ?? null }, 'GitHub token endpoint failed');
        return fail(
          502,
          'GitHub’s token endpoint could not be reached. Try again.',
          'FFX_ERR_GITHUB_UPSTREAM',
        );
      }

      let user;
      try {
        const tokens = parseTokenAnswer(answer, new Date());
        user = await signInWithGitHub(
          { db: app.db, config, secretBox: app.secretBox, log: request.log },
          tokens,
        );
      } catch (err) {
        if (err instanceof OAuthTokenError)
          return fail(
            400,
            err.error === 'bad_verification_code'
              ? 'GitHub did not accept the sign-in code (it expired or was already used). Start again.'
              : `GitHub refused the sign-in (${err.error}).`,
            err.error,
          );
        if ((err as { code?: string }).code === 'FFX_ERR_GITHUB_UPSTREAM')
          return fail(502, (err as Error).message, 'FFX_ERR_GITHUB_UPSTREAM');
        throw err;
      }

      await startSession(request, reply, user.id);
      const unsigned = returnCookie ? request.unsignCookie(returnCookie) : null;
      const target =
        (unsigned?.valid && safeReturnTo(unsigned.value, config.publicUrl)) || DEFAULT_RETURN_TO;
      reply.clearCookie(RETURN_COOKIE, cookieOptions);
      request.log.info({ userId: user.id }, 'signed in with GitHub');
      return reply.redirect(target, 302);
    },
  );

  app.get(
    '/oauth/github/connection',
    {
      preHandler: app.requireScope('account:read'),
      schema: {
        tags: ['oauth'],
        summary: 'The signed-in user’s GitHub connection and its status',
        security: cookieOrBearer,
        response: { 200: Connection, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const user = request.user!;
      const row = await connections.getForUser(user.id);
      if (!row) throw new errors.NOT_FOUND('GitHub connection');
      return connectionView(row, user.login);
    },
  );

  app.get(
    '/oauth/connections',
    {
      preHandler: app.requireScope('account:read'),
      schema: {
        tags: ['oauth'],
        summary: 'Every OAuth connection of the signed-in user',
        security: cookieOrBearer,
        response: { 200: ConnectionList, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request) => {
      const user = request.user!;
      const rows = await connections.listForUser(user.id);
      return { items: rows.map((row) => connectionView(row, user.login)), next_cursor: null };
    },
  );

  app.delete(
    '/oauth/github/disconnect',
    {
      preHandler: app.requireScope('account:write'),
      schema: {
        tags: ['oauth'],
        summary:
          'Disconnect GitHub: delete Flowfix’s repository webhooks, revoke the grant, remove local data',
        security: cookieOrBearer,
        response: {
          200: DisconnectResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      const result = await disconnectGitHub(
        { db: app.db, config, secretBox: app.secretBox, log: request.log, github: app.github },
        request.user!.id,
      );
      return {
        disconnected: true as const,
        upstream_revoked: result.upstreamRevoked,
        webhooks_removed: result.webhooksRemoved,
        webhooks_failed: result.webhooksFailed,
        repositories_removed: result.repositoriesRemoved,
      };
    },
  );
};

export default oauthRoutes;
