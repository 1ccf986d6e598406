// Test helpers for signed-in callers, built on the real code paths: users through the users
// store, tokens through the API token service, sessions through the session service (a
// real row and a real signed cookie), GitHub connections holding a token the fake issued,
// sealed by the same secret box the app uses.
import { randomInt } from 'node:crypto';
import type { App } from '../../src/app.ts';
import { createOAuthConnectionsStore } from '../../src/db/stores/oauth-connections-store.ts';
import { createUsersStore } from '../../src/db/stores/users-store.ts';
import { sealTokens } from '../../src/github/stored-tokens.ts';
import { ALL_SCOPES, type Scope } from '../../src/services/auth/scopes.ts';
import { SESSION_COOKIE } from '../../src/services/auth/sessions.ts';
import type { FakeGitHub } from './fake-github.ts';

type AnyApp = Pick<App, 'db' | 'apiTokens' | 'sessions' | 'signCookie' | 'secretBox'>;

let counter = 0;

/** A user (as if signed in with GitHub once) and an API token with `scopes` (default: all). */
export async function createUserWithToken(
  app: AnyApp,
  opts: { login?: string; githubId?: number; scopes?: Scope[] } = {},
): Promise<{
  user: { id: string; login: string; githubId: number };
  token: string;
  headers: { authorization: string };
}> {
  counter += 1;
  const login = opts.login ?? `user-${process.pid}-${counter}`;
  const githubId = opts.githubId ?? 2_000_000 + randomInt(1, 1_000_000_000);
  const user = await createUsersStore(app.db).upsertFromGitHub({
    githubId,
    login,
    name: null,
    email: null,
    avatarUrl: null,
  });
  const { token } = await app.apiTokens.create(
    user.id,
    { name: `test token ${counter}`, scopes: opts.scopes ?? [...ALL_SCOPES], expiresAt: null },
    ALL_SCOPES,
  );
  return {
    user: { id: user.id, login: user.login, githubId },
    token,
    headers: { authorization: `Bearer ${token}` },
  };
}

/** A real server-side session for `user`; send `headers` (and `x-csrf-token` on writes). */
export async function signIn(
  app: AnyApp,
  user: { id: string },
): Promise<{ cookie: string; csrfToken: string; headers: { cookie: string } }> {
  const session = await app.sessions.create(user.id, 'test');
  const cookie = `${SESSION_COOKIE}=${app.signCookie(session.id)}`;
  return { cookie, csrfToken: session.csrfToken, headers: { cookie } };
}

/**
 * Stores a GitHub connection for `user` holding a real token issued by `fake` (expiring
 * ghu_/ghr_ by default, like the fake). The fake user is created when missing, with the
 * user's GitHub id, so `/user` answers as that user.
 */
export async function connectGitHub(
  app: AnyApp,
  fake: FakeGitHub,
  user: { id: string },
  opts: { login?: string; expiring?: boolean; scopes?: string[] } = {},
): Promise<{ accessToken: string; refreshToken: string | undefined }> {
  const row = await createUsersStore(app.db).getById(user.id);
  if (!row) throw new Error(`connectGitHub: no user ${user.id}`);
  const login = opts.login ?? row.login;
  const fakeUser =
    fake.state.users.get(login.toLowerCase()) ?? fake.addUser({ login, id: row.githubId });
  const issued = fake.issueToken(fakeUser.login, {
    ...(opts.expiring === undefined ? {} : { expiring: opts.expiring }),
    scopes: opts.scopes ?? ['repo', 'read:user', 'admin:repo_hook'],
  });
  const now = Date.now();
  const sealed = sealTokens(app.secretBox, user.id, {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken ?? null,
    accessTokenExpiresAt:
      issued.expiresIn === undefined ? null : new Date(now + issued.expiresIn * 1000),
    refreshTokenExpiresAt:
      issued.refreshToken === undefined ? null : new Date(now + 180 * 24 * 3600 * 1000),
    scopes: '',
  });
  await createOAuthConnectionsStore(app.db).upsert({
    ...sealed,
    userId: user.id,
    providerUserId: fakeUser.id,
    scopes: issued.refreshToken
      ? ''
      : (opts.scopes ?? ['repo', 'read:user', 'admin:repo_hook']).join(' '),
  });
  return { accessToken: issued.accessToken, refreshToken: issued.refreshToken };
}

export interface OAuthFlow {
  /** The authorize redirect (GET /api/v2/oauth/github/authorize). */
  authorize: Awaited<ReturnType<App['inject']>>;
  /** Cookies the authorize step set (state, verifier, returnTo), as a Cookie header. */
  flowCookie: string;
  /** Where GitHub (the fake) sent the browser back: path + query on the app. */
  callbackPath: string;
}

function cookieHeader(cookies: Array<{ name: string; value: string }>): string {
  return cookies
    .filter((c) => c.value !== '')
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

/**
 * Runs the browser's half of the web flow up to GitHub's redirect back: start at
 * /api/v2/oauth/github/authorize, then "click" the fake's consent form as `login`
 * (decision "authorize" or "cancel"). The caller then injects the callback.
 */
export async function startOAuthFlow(
  app: Pick<App, 'inject'>,
  fake: FakeGitHub,
  login: string,
  opts: { returnTo?: string; decision?: 'authorize' | 'cancel' } = {},
): Promise<OAuthFlow> {
  const query = opts.returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(opts.returnTo)}`;
  const authorize = await app.inject({ url: `/api/v2/oauth/github/authorize${query}` });
  if (authorize.statusCode !== 302)
    throw new Error(`authorize answered ${authorize.statusCode}: ${authorize.body}`);
  const authorizeUrl = new URL(String(authorize.headers.location));
  const form = new URLSearchParams(authorizeUrl.searchParams);
  form.set('login', login);
  form.set('decision', opts.decision ?? 'authorize');
  const consent = await fetch(`${fake.webUrl}/login/oauth/authorize`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  const back = consent.headers.get('location');
  if (consent.status !== 302 || !back)
    throw new Error(`fake GitHub consent answered ${consent.status}: ${await consent.text()}`);
  const url = new URL(back);
  return {
    authorize,
    flowCookie: cookieHeader(authorize.cookies),
    callbackPath: `${url.pathname}${url.search}`,
  };
}

/** The whole web flow: returns the session cookie (as a Cookie header) and the callback reply. */
export async function signInThroughGitHub(
  app: Pick<App, 'inject'>,
  fake: FakeGitHub,
  login: string,
  opts: { returnTo?: string } = {},
): Promise<{ cookie: string; callback: Awaited<ReturnType<App['inject']>> }> {
  const flow = await startOAuthFlow(app, fake, login, opts);
  const callback = await app.inject({
    url: flow.callbackPath,
    headers: { cookie: flow.flowCookie },
  });
  const session = callback.cookies.find((c) => c.name === SESSION_COOKIE && c.value !== '');
  if (callback.statusCode !== 302 || !session)
    throw new Error(`callback answered ${callback.statusCode}: ${callback.body.slice(0, 300)}`);
  return { cookie: `${SESSION_COOKIE}=${session.value}`, callback };
}
