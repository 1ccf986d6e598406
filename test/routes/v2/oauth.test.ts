// GitHub sign-in through the real web flow against the fake GitHub: state, PKCE, returnTo,
// the callback URL, GitHub's HTTP-200 errors, access_denied, sessions and logout — the
// OAuth lines of security.md.
import { createHash } from 'node:crypto';
import t from 'tap';
import { createOAuthConnectionsStore } from '../../../src/db/stores/oauth-connections-store.ts';
import { createUsersStore } from '../../../src/db/stores/users-store.ts';
import { openAccessToken, openRefreshToken } from '../../../src/github/stored-tokens.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { signInThroughGitHub, startOAuthFlow } from '../../support/auth.ts';
import { startFakeGitHub } from '../../support/fake-github.ts';

const CALLBACK = 'http://flowfix.test/api/v2/oauth/github/callback';

const fake = await startFakeGitHub({ callbackUrl: CALLBACK });
t.teardown(() => fake.close());
knownSecrets.add(fake.clientSecret);
const { app, database, logs } = await buildTestApp(t, {
  env: {
    GITHUB_CLIENT_ID: fake.clientId,
    GITHUB_CLIENT_SECRET: fake.clientSecret,
    GITHUB_API_URL: fake.apiUrl,
    GITHUB_WEB_URL: fake.webUrl,
  },
});
const users = createUsersStore(database.db);
const connections = createOAuthConnectionsStore(database.db);

async function userCount() {
  const rows = await database.db.query.users.findMany();
  return rows.length;
}

const tokenRequests = () => fake.requests.filter((r) => r.pathname === '/login/oauth/access_token');

t.test(
  'authorize redirects to GitHub with state, PKCE S256, scopes and the configured callback',
  async (t) => {
    const res = await app.inject({
      url: '/api/v2/oauth/github/authorize?returnTo=%2Fadmin%2Ftokens',
      // Spoofed host headers must not change the callback URL.
      headers: { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
    });
    t.equal(res.statusCode, 302);
    const url = new URL(String(res.headers.location));
    t.equal(`${url.origin}${url.pathname}`, `${fake.webUrl}/login/oauth/authorize`);
    t.equal(url.searchParams.get('client_id'), fake.clientId);
    t.equal(url.searchParams.get('redirect_uri'), CALLBACK);
    t.equal(url.searchParams.get('scope'), 'repo read:user admin:repo_hook');
    t.notMatch(url.searchParams.get('scope') ?? '', /workflow/);
    t.equal(url.searchParams.get('code_challenge_method'), 'S256');
    t.match(url.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    t.match(url.searchParams.get('state'), /^[A-Za-z0-9_-]{20,}$/);

    const byName = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
    for (const name of ['ffx_oauth_state', 'ffx_oauth_verifier', 'ffx_oauth_return']) {
      const cookie = byName[name];
      t.ok(cookie, `${name} is set`);
      t.equal(cookie?.httpOnly, true, `${name} is HttpOnly`);
      t.equal(cookie?.sameSite, 'Lax', `${name} is SameSite=Lax`);
      t.equal(cookie?.path, '/api/v2/oauth/github');
      // Signed: value.signature, so a planted unsigned value is rejected.
      t.match(cookie?.value, /\./, `${name} is signed`);
    }
    // The state in the URL is the cookie's (unsigned) value; the verifier never leaves the cookie.
    t.ok(byName['ffx_oauth_state']?.value.startsWith(`${url.searchParams.get('state')}.`));
    t.notMatch(String(res.headers.location), /verifier/);
  },
);

t.test('POST authorize answers JSON for scripts and SPAs', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v2/oauth/github/authorize',
    payload: { returnTo: '/admin/account' },
  });
  t.equal(res.statusCode, 200);
  t.match(res.json().authorization_url, `${fake.webUrl}/login/oauth/authorize?`);
  t.ok(res.cookies.find((c) => c.name === 'ffx_oauth_state'));
  const bare = await app.inject({ method: 'POST', url: '/api/v2/oauth/github/authorize' });
  t.equal(bare.statusCode, 200, 'works without a body');
});

t.test('returnTo must be a same-origin relative path', async (t) => {
  for (const bad of [
    'https://evil.test/x',
    '//evil.test/x',
    '/\\evil.test',
    'javascript:alert(1)',
    'admin',
    '/admin\n/x',
    'http://flowfix.test.evil.test/',
  ]) {
    const res = await app.inject({
      url: `/api/v2/oauth/github/authorize?returnTo=${encodeURIComponent(bad)}`,
    });
    t.equal(res.statusCode, 400, JSON.stringify(bad));
    t.equal(res.cookies.length, 0, 'no flow started');
  }
});

t.test('a full sign-in: user, encrypted connection, session, redirect to returnTo', async (t) => {
  fake.addUser({ login: 'octocat', name: 'The Octocat', email: 'octo@example.test' });
  const before = fake.counters.codeGrants;
  const { cookie, callback } = await signInThroughGitHub(app, fake, 'octocat', {
    returnTo: '/admin/tokens?x=1',
  });
  t.equal(callback.headers.location, '/admin/tokens?x=1');
  t.equal(fake.counters.codeGrants, before + 1);

  // The exchange used PKCE and asked for JSON (GitHub answers form-encoded otherwise).
  const exchange = tokenRequests().at(-1)!;
  t.match(exchange.headers.accept, /application\/json/);
  const body = exchange.body as Record<string, string>;
  t.match(body.code_verifier, /^[A-Za-z0-9_-]{43,}$/);
  t.equal(body.redirect_uri, CALLBACK);

  // Flow cookies are cleared: the state is single-use.
  for (const name of ['ffx_oauth_state', 'ffx_oauth_verifier', 'ffx_oauth_return']) {
    const cleared = callback.cookies.find((c) => c.name === name);
    t.equal(cleared?.value, '', `${name} cleared`);
  }
  const session = callback.cookies.find((c) => c.name === 'ffx_session')!;
  t.equal(session.httpOnly, true);
  t.equal(session.sameSite, 'Lax');
  t.equal(session.path, '/');
  t.notOk(session.secure, 'not Secure on an http PUBLIC_URL');

  const me = await app.inject({ url: '/api/v2/me', headers: { cookie } });
  t.equal(me.statusCode, 200);
  t.match(me.json(), {
    login: 'octocat',
    name: 'The Octocat',
    auth: { kind: 'session' },
    github: { status: 'active' },
  });

  const user = (await database.db.query.users.findFirst({
    where: (u, { eq }) => eq(u.login, 'octocat'),
  }))!;
  const row = (await connections.getForUser(user.id))!;
  t.equal(row.status, 'active');
  t.match(row.accessTokenEnc, /^v1\.test1\./, 'access token stored as ciphertext');
  t.match(row.refreshTokenEnc, /^v1\.test1\./, 'refresh token stored as ciphertext');
  const access = openAccessToken(app.secretBox, row);
  const refresh = openRefreshToken(app.secretBox, row)!;
  t.match(access, /^ghu_/);
  t.match(refresh, /^ghr_/);
  knownSecrets.add(access);
  knownSecrets.add(refresh);
  t.ok(row.accessTokenExpiresAt && row.accessTokenExpiresAt.getTime() > Date.now() + 7 * 3600_000);
  t.ok(row.refreshTokenExpiresAt);

  const conn = await app.inject({ url: '/api/v2/oauth/github/connection', headers: { cookie } });
  t.equal(conn.statusCode, 200);
  t.match(conn.json(), {
    provider: 'github',
    login: 'octocat',
    status: 'active',
    status_reason: null,
  });
  t.notMatch(conn.body, /ghu_|ghr_|v1\.test1/, 'no token or ciphertext in the API');
  const list = await app.inject({ url: '/api/v2/oauth/connections', headers: { cookie } });
  t.equal(list.json().items.length, 1);

  // Signing in again updates the same user and connection instead of adding rows.
  const count = await userCount();
  await signInThroughGitHub(app, fake, 'octocat');
  t.equal(await userCount(), count);
  t.not(openAccessToken(app.secretBox, (await connections.getForUser(user.id))!), access);
  t.ok(await users.getById(user.id));
});

t.test('classic (non-expiring) gho_ tokens are stored without a refresh token', async (t) => {
  const classic = await startFakeGitHub({ callbackUrl: CALLBACK, expiringTokens: false });
  t.teardown(() => classic.close());
  const { app: app2, database: db2 } = await buildTestApp(t, {
    env: {
      GITHUB_CLIENT_ID: classic.clientId,
      GITHUB_CLIENT_SECRET: classic.clientSecret,
      GITHUB_API_URL: classic.apiUrl,
      GITHUB_WEB_URL: classic.webUrl,
    },
  });
  classic.addUser({ login: 'classic-user' });
  const { cookie } = await signInThroughGitHub(app2, classic, 'classic-user');
  const conn = await app2.inject({ url: '/api/v2/oauth/github/connection', headers: { cookie } });
  t.match(conn.json(), {
    status: 'active',
    token_expires_at: null,
    refresh_token_expires_at: null,
  });
  t.same(conn.json().scopes, ['repo', 'read:user', 'admin:repo_hook']);
  const user = (await db2.db.query.users.findFirst({
    where: (u, { eq }) => eq(u.login, 'classic-user'),
  }))!;
  const row = (await createOAuthConnectionsStore(db2.db).getForUser(user.id))!;
  t.equal(row.refreshTokenEnc, null);
  const token = openAccessToken(app2.secretBox, row);
  knownSecrets.add(token);
  t.match(token, /^gho_/);
});

t.test('state: missing cookie, mismatch, replay → 400 and no code exchange', async (t) => {
  fake.addUser({ login: 'state-user' });
  const count = await userCount();

  const flow = await startOAuthFlow(app, fake, 'state-user');
  const exchanges = tokenRequests().length;

  const noCookie = await app.inject({ url: flow.callbackPath });
  t.equal(noCookie.statusCode, 400);
  t.match(noCookie.headers['content-type'], /text\/html/);
  t.match(noCookie.body, /not started in this browser/);

  const swapped = flow.callbackPath.replace(/state=[^&]+/, 'state=forged-state-value-123456');
  const mismatch = await app.inject({ url: swapped, headers: { cookie: flow.flowCookie } });
  t.equal(mismatch.statusCode, 400);
  t.match(mismatch.body, /state did not match/);
  t.equal(mismatch.cookies.find((c) => c.name === 'ffx_oauth_state')?.value, '', 'state cleared');

  const noState = await app.inject({
    url: flow.callbackPath.replace(/&?state=[^&]+/, ''),
    headers: { cookie: flow.flowCookie },
  });
  t.equal(noState.statusCode, 400);

  // A forged (unsigned) state cookie equal to the URL's state is not accepted either.
  const state = new URL(`http://x${flow.callbackPath}`).searchParams.get('state')!;
  const unsigned = await app.inject({
    url: flow.callbackPath,
    headers: { cookie: `ffx_oauth_state=${state}; ffx_oauth_verifier=abc` },
  });
  t.equal(unsigned.statusCode, 400);

  t.equal(tokenRequests().length, exchanges, 'no code exchange happened');
  t.equal(await userCount(), count, 'nothing stored');

  // The real browser completes once; replaying the same callback (cookies captured) fails.
  const ok = await app.inject({ url: flow.callbackPath, headers: { cookie: flow.flowCookie } });
  t.equal(ok.statusCode, 302);
  const replay = await app.inject({ url: flow.callbackPath, headers: { cookie: flow.flowCookie } });
  t.equal(replay.statusCode, 400, 'the code is single-use');
  t.match(replay.body, /expired or was already used/);
});

t.test('GitHub token errors arrive with HTTP 200 and are not mistaken for tokens', async (t) => {
  fake.addUser({ login: 'err-user' });
  const count = await userCount();
  const flow = await startOAuthFlow(app, fake, 'err-user');
  // A tampered verifier cookie fails its signature: the exchange runs without the
  // verifier and GitHub refuses the PKCE-bound code.
  const tampered = flow.flowCookie.replace(
    /ffx_oauth_verifier=([^;]+)/,
    // Another first character: the value is random, so it may itself begin with 'x'.
    (_m, v: string) => `ffx_oauth_verifier=${v.startsWith('x') ? 'y' : 'x'}${v.slice(1)}`,
  );
  const errorsBefore = fake.counters.tokenErrors;
  const res = await app.inject({ url: flow.callbackPath, headers: { cookie: tampered } });
  t.equal(res.statusCode, 400);
  t.match(res.body, /did not accept the sign-in code/);
  t.match(res.body, /bad_verification_code/);
  t.equal(fake.counters.tokenErrors, errorsBefore + 1, 'GitHub answered an error (HTTP 200)');
  t.equal(tokenRequests().at(-1)?.status, 200);
  t.equal(await userCount(), count, 'nothing stored');
  t.notOk(
    res.cookies.find((c) => c.name === 'ffx_session' && c.value),
    'no session',
  );
});

t.test('the token endpoint failing (HTTP 500) is a clear 502 page', async (t) => {
  fake.addUser({ login: 'down-user' });
  const flow = await startOAuthFlow(app, fake, 'down-user');
  fake.failNext('POST', '/login/oauth/access_token', 500);
  const res = await app.inject({ url: flow.callbackPath, headers: { cookie: flow.flowCookie } });
  t.equal(res.statusCode, 502);
  t.match(res.body, /could not be reached/);
});

t.test('GitHub failing on /user after the exchange stores nothing', async (t) => {
  fake.addUser({ login: 'user-down' });
  const count = await userCount();
  const flow = await startOAuthFlow(app, fake, 'user-down');
  fake.failNext('GET', '/user', 503, undefined, { times: 2 }); // the call and its one retry
  const res = await app.inject({ url: flow.callbackPath, headers: { cookie: flow.flowCookie } });
  t.equal(res.statusCode, 502);
  t.match(res.body, /could not read the GitHub user/);
  t.equal(await userCount(), count);
});

t.test('access_denied → a clear page, nothing stored', async (t) => {
  fake.addUser({ login: 'denier' });
  const count = await userCount();
  const flow = await startOAuthFlow(app, fake, 'denier', { decision: 'cancel' });
  t.match(flow.callbackPath, /error=access_denied/);
  const res = await app.inject({ url: flow.callbackPath, headers: { cookie: flow.flowCookie } });
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /You cancelled the GitHub authorization/);
  t.equal(await userCount(), count);
  t.equal(res.cookies.find((c) => c.name === 'ffx_oauth_state')?.value, '', 'flow cleared');

  // An attacker-written error_description is not reflected.
  const crafted = await app.inject({
    url: '/api/v2/oauth/github/callback?error=%3Cscript%3E&error_description=Call%20us%20at%20555',
  });
  t.equal(crafted.statusCode, 400);
  t.notMatch(crafted.body, /555|<script>/);
});

t.test('no OAuth code or state ever reaches the logs', async (t) => {
  const codes = fake.requests
    .filter((r) => r.pathname === '/login/oauth/access_token')
    .map((r) => (r.body as Record<string, string>).code)
    .filter((c): c is string => typeof c === 'string');
  t.ok(codes.length > 0);
  for (const code of codes) t.notOk(logs.text().includes(code), 'code not logged');
  t.notOk(logs.text().includes(fake.clientSecret));
});

t.test('logout deletes the session; a replayed cookie is rejected', async (t) => {
  fake.addUser({ login: 'leaver' });
  const { cookie } = await signInThroughGitHub(app, fake, 'leaver');
  const me = await app.inject({ url: '/api/v2/me', headers: { cookie } });
  const csrf = me.json().csrf_token as string;

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/api/v2/auth/logout',
    headers: { cookie },
  });
  t.equal(noCsrf.statusCode, 403);
  t.equal(noCsrf.json().code, 'FFX_ERR_CSRF');

  const sessionsBefore = await database.db.query.sessions.findMany();
  const out = await app.inject({
    method: 'POST',
    url: '/api/v2/auth/logout',
    headers: { cookie, 'x-csrf-token': csrf },
  });
  t.equal(out.statusCode, 204);
  t.equal(out.cookies.find((c) => c.name === 'ffx_session')?.value, '', 'cookie cleared');
  const sessionsAfter = await database.db.query.sessions.findMany();
  t.equal(sessionsAfter.length, sessionsBefore.length - 1, 'row deleted');

  const replay = await app.inject({ url: '/api/v2/me', headers: { cookie } });
  t.equal(replay.statusCode, 401);
  t.equal(replay.json().code, 'FFX_ERR_UNAUTHENTICATED');
  const again = await app.inject({
    method: 'POST',
    url: '/api/v2/auth/logout',
    headers: { cookie },
  });
  t.equal(again.statusCode, 401);
});

t.test('sessions store only a hash of the cookie id', async (t) => {
  fake.addUser({ login: 'hashy' });
  const { cookie } = await signInThroughGitHub(app, fake, 'hashy');
  const raw = decodeURIComponent(cookie.split('=').slice(1).join('='));
  const id = raw.slice(0, raw.lastIndexOf('.'));
  const rows = await database.db.query.sessions.findMany();
  const hash = createHash('sha256').update(id).digest('hex');
  t.ok(
    rows.some((r) => r.id === hash),
    'row id is sha256(cookie id)',
  );
  t.notOk(
    rows.some((r) => r.id === id),
    'the raw id is not stored',
  );
  // A cookie with a forged signature is not a session.
  const forged = await app.inject({
    url: '/api/v2/me',
    headers: { cookie: `ffx_session=${id}.AAAA` },
  });
  t.equal(forged.statusCode, 401);
});

t.test('Secure cookies when PUBLIC_URL is https', async (t) => {
  const tls = await startFakeGitHub();
  t.teardown(() => tls.close());
  const { app: app3 } = await buildTestApp(t, {
    env: {
      PUBLIC_URL: 'https://flowfix.example',
      GITHUB_CLIENT_ID: tls.clientId,
      GITHUB_CLIENT_SECRET: tls.clientSecret,
      GITHUB_API_URL: tls.apiUrl,
      GITHUB_WEB_URL: tls.webUrl,
    },
  });
  tls.addUser({ login: 'secure-user' });
  const flow = await startOAuthFlow(app3, tls, 'secure-user');
  t.ok(
    flow.authorize.cookies.every((c) => c.secure),
    'flow cookies are Secure',
  );
  t.equal(
    new URL(String(flow.authorize.headers.location)).searchParams.get('redirect_uri'),
    'https://flowfix.example/api/v2/oauth/github/callback',
  );
  const callback = await app3.inject({
    url: flow.callbackPath,
    headers: { cookie: flow.flowCookie },
  });
  t.equal(callback.statusCode, 302);
  t.equal(callback.cookies.find((c) => c.name === 'ffx_session')?.secure, true);
});

t.test('without OAuth configured, authorize says what to set', async (t) => {
  const { app: bare } = await buildTestApp(t);
  const res = await bare.inject({ method: 'POST', url: '/api/v2/oauth/github/authorize' });
  t.equal(res.statusCode, 503);
  t.match(res.json(), {
    code: 'FFX_ERR_OAUTH_NOT_CONFIGURED',
    message: /GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/,
  });
  const cb = await bare.inject({ url: '/api/v2/oauth/github/callback?code=x&state=y' });
  t.equal(cb.statusCode, 503);
});

t.test('the fake saw only valid GitHub requests', async (t) => {
  t.same(fake.violations, []);
});
