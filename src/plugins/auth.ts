// Authentication and authorisation for the API and the pages.
//
//  - Browser sessions: the signed `ffx_session` cookie names a server-side session row
//    (services/auth/sessions.ts). Resolved for every request that carries it, so pages —
//    public ones too — know who is signed in (request.pageLocals.user / csrfToken).
//  - API tokens: `Authorization: Bearer ffx_…`, checked by app.requireScope. A bearer header
//    always wins over a cookie, and a bad one is never "rescued" by the cookie.
//  - Scopes per route (requireScope); sessions hold every scope.
//  - CSRF: cookie-authenticated requests that change state must echo the session's CSRF
//    token (`x-csrf-token` header or `_csrf` form field). Bearer requests need none: a
//    browser never attaches that header on its own.
//  - Tokens in a URL are refused on every /api route: URLs end up in logs and histories.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { errors } from '../errors.ts';
import {
  createApiTokenService,
  INVALID_TOKEN_MESSAGE,
  type ApiTokenService,
} from '../services/auth/api-tokens.ts';
import { ALL_SCOPES, type Scope } from '../services/auth/scopes.ts';
import {
  createSessionService,
  SESSION_COOKIE,
  SESSION_MAX_MS,
  type SessionService,
} from '../services/auth/sessions.ts';

export { ALL_SCOPES, type Scope };

export interface AuthUser {
  id: string;
  login: string;
  name: string | null;
  avatarUrl: string | null;
}

export interface RequestAuth {
  kind: 'session' | 'token';
  scopes: readonly Scope[];
  tokenId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    auth: RequestAuth | null;
    /** The browser session behind request.user, when there is one. */
    session: { id: string; csrfToken: string } | null;
  }
  interface FastifyInstance {
    /**
     * preHandler for /api/v2 routes: 401 FFX_ERR_UNAUTHENTICATED without a valid session
     * cookie or `Authorization: Bearer ffx_…`; 403 FFX_ERR_FORBIDDEN without the scope;
     * 403 FFX_ERR_CSRF for a cookie-authenticated unsafe method without the CSRF token.
     */
    requireScope(scope: Scope): preHandlerAsyncHookHandler;
    /** preHandler for /admin pages: sign-in redirect, CSRF check on unsafe methods. */
    requirePageUser: preHandlerAsyncHookHandler;
    sessions: SessionService;
    apiTokens: ApiTokenService;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Paths that never need to know who is asking (and should not cost a query). */
const ANONYMOUS_PATHS = /^\/(assets\/|healthz$|readyz$|docs(\/|$))/;
const QUERY_TOKEN_NAMES = new Set(['access_token', 'token', 'api_token', 'api_key', 'apikey']);
const TOKEN_IN_VALUE = /(^|[^A-Za-z0-9])ffx_[A-Za-z0-9]/;
const NOT_SIGNED_IN =
  'Authentication required: sign in, or send an API token as "Authorization: Bearer ffx_…"';

export function sessionCookieOptions(config: Config) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.publicUrl.startsWith('https:'),
    signed: true,
  };
}

/** Starts a session for `userId` and sets its cookie; ends the one the browser had, if any. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
): Promise<void> {
  const { sessions, config } = request.server;
  // A fresh id at every sign-in: a session id planted before sign-in is worth nothing.
  if (request.session) await sessions.destroy(request.session.id);
  const created = await sessions.create(userId, request.headers['user-agent']);
  reply.setCookie(SESSION_COOKIE, created.id, {
    ...sessionCookieOptions(config),
    maxAge: Math.floor(SESSION_MAX_MS / 1000),
  });
}

/** Deletes the session row and the cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.session) await request.server.sessions.destroy(request.session.id);
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(request.server.config));
  request.user = null;
  request.auth = null;
  request.session = null;
}

function refuseTokenInQuery(request: FastifyRequest): void {
  const query = request.query as Record<string, unknown> | undefined;
  if (!query || typeof query !== 'object') return;
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (
      QUERY_TOKEN_NAMES.has(name.toLowerCase()) ||
      values.some((v) => typeof v === 'string' && TOKEN_IN_VALUE.test(v))
    ) {
      throw new errors.BAD_REQUEST(
        'Credentials are not accepted in the URL: send "Authorization: Bearer ffx_…" instead',
      );
    }
  }
}

function presentedCsrf(request: FastifyRequest): unknown {
  const header = request.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  const body = request.body as Record<string, unknown> | null | undefined;
  return body && typeof body === 'object' ? body['_csrf'] : undefined;
}

export default fp(
  async (app) => {
    const sessions = createSessionService(app.db, { sessionSecret: app.config.sessionSecret });
    const apiTokens = createApiTokenService(app.db);
    app.decorate('sessions', sessions);
    app.decorate('apiTokens', apiTokens);
    app.decorateRequest('user', null);
    app.decorateRequest('auth', null);
    app.decorateRequest('session', null);

    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      if (path.startsWith('/api/')) refuseTokenInQuery(request);
      if (ANONYMOUS_PATHS.test(path)) return;
      const raw = request.cookies[SESSION_COOKIE];
      if (!raw) return;
      const unsigned = request.unsignCookie(raw);
      const resolved =
        unsigned.valid && unsigned.value ? await sessions.resolve(unsigned.value) : null;
      if (!resolved) {
        // Logged out, expired or forged: forget it so the browser stops sending it.
        reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(app.config));
        return;
      }
      request.user = resolved.user;
      request.auth = { kind: 'session', scopes: ALL_SCOPES };
      request.session = { id: unsigned.value!, csrfToken: resolved.csrfToken };
      request.pageLocals.user = resolved.user;
      request.pageLocals.csrfToken = resolved.csrfToken;
    });

    app.decorate('requireScope', (scope: Scope): preHandlerAsyncHookHandler => {
      return async function requireScope(request, reply) {
        const authorization = request.headers.authorization;
        if (authorization !== undefined) {
          const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
          const principal = match ? await apiTokens.authenticate(match[1]!) : null;
          if (!principal) {
            reply.header('www-authenticate', 'Bearer realm="flowfix", error="invalid_token"');
            throw new errors.UNAUTHENTICATED(INVALID_TOKEN_MESSAGE);
          }
          request.user = principal.user;
          request.auth = { kind: 'token', scopes: principal.scopes, tokenId: principal.tokenId };
          request.session = null;
        } else if (!request.auth) {
          reply.header('www-authenticate', 'Bearer realm="flowfix"');
          throw new errors.UNAUTHENTICATED(NOT_SIGNED_IN);
        }
        const auth = request.auth!;
        if (!auth.scopes.includes(scope)) {
          throw new errors.FORBIDDEN(`This API token lacks the "${scope}" scope`);
        }
        if (auth.kind === 'session' && UNSAFE.has(request.method)) {
          if (!sessions.csrfMatches(request.session!.csrfToken, presentedCsrf(request)))
            throw new errors.CSRF();
        }
      };
    });

    app.decorate('requirePageUser', async function requirePageUser(request, reply) {
      if (!request.user || request.auth?.kind !== 'session') {
        // After sign-in, come back to the page — not to a form action that expects a POST.
        const safe = request.method === 'GET' || request.method === 'HEAD';
        const target = safe
          ? `/admin/login?returnTo=${encodeURIComponent(request.url)}`
          : '/admin/login';
        return reply.redirect(target, 302);
      }
      if (UNSAFE.has(request.method)) {
        if (!sessions.csrfMatches(request.session!.csrfToken, presentedCsrf(request)))
          throw new errors.CSRF();
      }
    } satisfies preHandlerAsyncHookHandler);
  },
  {
    name: 'ffx-auth',
    dependencies: ['ffx-config', 'ffx-db', '@fastify/cookie', 'ffx-view'],
  },
);
