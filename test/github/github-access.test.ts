// GitHub token access against the fake: refresh 10 minutes before expiry, single-flight
// across 50 concurrent callers and across two "processes" (two independent instances on
// one database), rotation stored once, bad_refresh_token → needs_reconnect, revoked tokens
// and undecryptable ciphertext → needs_reconnect.
import t from 'tap';
import { createOAuthConnectionsStore } from '../../src/db/stores/oauth-connections-store.ts';
import { createGitHubAccess, REFRESH_MARGIN_MS } from '../../src/github/github-access.ts';
import { openAccessToken, openRefreshToken } from '../../src/github/stored-tokens.ts';
import { buildTestApp, knownSecrets } from '../helper.ts';
import { connectGitHub, createUserWithToken, signIn } from '../support/auth.ts';
import { startFakeGitHub } from '../support/fake-github.ts';

const fake = await startFakeGitHub();
t.teardown(() => fake.close());
knownSecrets.add(fake.clientSecret);
const { app, database, config } = await buildTestApp(t, {
  env: {
    GITHUB_CLIENT_ID: fake.clientId,
    GITHUB_CLIENT_SECRET: fake.clientSecret,
    GITHUB_API_URL: fake.apiUrl,
    GITHUB_WEB_URL: fake.webUrl,
  },
});
const store = createOAuthConnectionsStore(database.db);
const HOUR = 3600_000;

/** A GitHubAccess whose clock runs `offsetMs` ahead (the fake's clock moves with it). */
function accessAt(offsetMs: number) {
  return createGitHubAccess(
    { db: database.db, config, secretBox: app.secretBox, log: app.log },
    { now: () => new Date(Date.now() + offsetMs) },
  );
}

async function connectedUser(login: string, opts: { expiring?: boolean } = {}) {
  const { user, headers } = await createUserWithToken(app, { login });
  const issued = await connectGitHub(app, fake, user, opts);
  knownSecrets.add(issued.accessToken);
  if (issued.refreshToken) knownSecrets.add(issued.refreshToken);
  return { user, headers, issued };
}

t.test('a fresh token is used as is; one within 10 minutes of expiry is refreshed', async (t) => {
  const { user, issued } = await connectedUser('fresh-user');
  const grants = fake.counters.refreshGrants;
  t.equal(await app.github.tokenForUser(user.id), issued.accessToken);
  // 8 h tokens: at 7 h 49 min there are 11 minutes left — still fine.
  t.equal(await accessAt(7 * HOUR + 49 * 60_000).tokenForUser(user.id), issued.accessToken);
  t.equal(fake.counters.refreshGrants, grants);
  // At 7 h 51 min fewer than 10 minutes are left: refresh.
  const refreshed = await accessAt(8 * HOUR - REFRESH_MARGIN_MS + 60_000).tokenForUser(user.id);
  knownSecrets.add(refreshed);
  t.not(refreshed, issued.accessToken);
  t.match(refreshed, /^ghu_/);
  t.equal(fake.counters.refreshGrants, grants + 1);
});

t.test('50 concurrent callers with an expired token → exactly one refresh upstream', async (t) => {
  const { user, issued } = await connectedUser('busy-user');
  fake.advanceTime(9 * HOUR); // the fake now considers the access token expired
  t.teardown(() => fake.advanceTime(-9 * HOUR));
  const access = accessAt(9 * HOUR);
  const grants = fake.counters.refreshGrants;
  const tokens = await Promise.all(Array.from({ length: 50 }, () => access.tokenForUser(user.id)));
  t.equal(fake.counters.refreshGrants, grants + 1, 'one refresh grant');
  t.equal(new Set(tokens).size, 1, 'everyone got the same new token');
  const fresh = tokens[0]!;
  knownSecrets.add(fresh);
  t.not(fresh, issued.accessToken);

  // The rotated refresh token was stored (once, consistently with the access token).
  const row = (await store.getForUser(user.id))!;
  t.equal(openAccessToken(app.secretBox, row), fresh);
  const storedRefresh = openRefreshToken(app.secretBox, row)!;
  knownSecrets.add(storedRefresh);
  t.not(storedRefresh, issued.refreshToken, 'refresh token rotated');
  t.ok(fake.state.refreshTokens.get(storedRefresh), 'it is the one GitHub issued last');
  t.equal(fake.state.refreshTokens.get(storedRefresh)?.used, false, 'and it is unspent');
  t.ok(row.lastRefreshedAt);

  // The new token works against the API (the old one was revoked by the rotation).
  const octokit = await access.forUser(user.id);
  const { data } = await octokit.rest.users.getAuthenticated();
  t.equal(data.login, 'busy-user');
});

t.test('two processes (independent instances, one database) still refresh once', async (t) => {
  const { user } = await connectedUser('two-procs');
  fake.advanceTime(9 * HOUR);
  t.teardown(() => fake.advanceTime(-9 * HOUR));
  const a = accessAt(9 * HOUR);
  const b = accessAt(9 * HOUR);
  const grants = fake.counters.refreshGrants;
  const tokens = await Promise.all(
    Array.from({ length: 20 }, (_v, i) => (i % 2 ? a : b).tokenForUser(user.id)),
  );
  t.equal(fake.counters.refreshGrants, grants + 1);
  t.equal(new Set(tokens).size, 1);
  knownSecrets.add(tokens[0]!);
});

t.test('bad_refresh_token → needs_reconnect, in the API and on the account page', async (t) => {
  const { user, headers, issued } = await connectedUser('stale-user');
  // The user revoked the grant on GitHub: the refresh token no longer works.
  fake.state.refreshTokens.get(issued.refreshToken!)!.revoked = true;
  const access = accessAt(9 * HOUR);
  const errorsBefore = fake.counters.tokenErrors;
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, () => access.tokenForUser(user.id)),
  );
  t.ok(results.every((r) => r.status === 'rejected'));
  const reason = (results[0] as PromiseRejectedResult).reason as {
    code: string;
    statusCode: number;
  };
  t.equal(reason.code, 'FFX_ERR_GITHUB_RECONNECT');
  t.equal(reason.statusCode, 409);
  t.equal(fake.counters.tokenErrors, errorsBefore + 1, 'asked GitHub once');

  const row = (await store.getForUser(user.id))!;
  t.equal(row.status, 'needs_reconnect');
  t.match(row.statusReason, /bad_refresh_token/);

  const conn = await app.inject({ url: '/api/v2/oauth/github/connection', headers });
  t.match(conn.json(), { status: 'needs_reconnect', status_reason: /bad_refresh_token/ });
  const me = await app.inject({ url: '/api/v2/me', headers });
  t.equal(me.json().github.status, 'needs_reconnect');
  const session = await signIn(app, user);
  const page = await app.inject({ url: '/admin/account', headers: session.headers });
  t.equal(page.statusCode, 200);
  t.match(page.body, /needs reconnect/);
  t.match(page.body, /Reconnect GitHub/);

  // Later callers fail fast without asking GitHub again.
  await t.rejects(app.github.tokenForUser(user.id), { code: 'FFX_ERR_GITHUB_RECONNECT' });
  await t.rejects(app.github.forUser(user.id), { code: 'FFX_ERR_GITHUB_RECONNECT' });
  t.equal(fake.counters.tokenErrors, errorsBefore + 1);
});

t.test('an expired refresh token → needs_reconnect without asking GitHub', async (t) => {
  const { user } = await connectedUser('old-user');
  const errorsBefore = fake.counters.tokenErrors;
  await t.rejects(accessAt(200 * 24 * HOUR).tokenForUser(user.id), {
    code: 'FFX_ERR_GITHUB_RECONNECT',
    message: /refresh token expired/,
  });
  t.equal(fake.counters.tokenErrors, errorsBefore);
  t.equal((await store.getForUser(user.id))!.status, 'needs_reconnect');
});

t.test('a flipped bit in the stored token → "reconnect needed", never garbage', async (t) => {
  const { user } = await connectedUser('flipped-user');
  const row = (await store.getForUser(user.id))!;
  const parts = row.accessTokenEnc.split('.');
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0] = ct[0]! ^ 1;
  parts[3] = ct.toString('base64url');
  await store.saveRefreshed(
    row.id,
    {
      accessTokenEnc: parts.join('.'),
      refreshTokenEnc: row.refreshTokenEnc,
      accessTokenExpiresAt: row.accessTokenExpiresAt,
      refreshTokenExpiresAt: row.refreshTokenExpiresAt,
    },
    new Date(),
  );
  await t.rejects(app.github.tokenForUser(user.id), {
    code: 'FFX_ERR_GITHUB_RECONNECT',
    message: /unreadable \(auth_failed\)/,
  });
  t.equal((await store.getForUser(user.id))!.status, 'needs_reconnect');
});

t.test('a token copied into another user’s row does not decrypt', async (t) => {
  const a = await connectedUser('copy-a');
  const b = await connectedUser('copy-b');
  const rowA = (await store.getForUser(a.user.id))!;
  const rowB = (await store.getForUser(b.user.id))!;
  await store.saveRefreshed(
    rowB.id,
    {
      accessTokenEnc: rowA.accessTokenEnc,
      refreshTokenEnc: rowB.refreshTokenEnc,
      accessTokenExpiresAt: rowB.accessTokenExpiresAt,
      refreshTokenExpiresAt: rowB.refreshTokenExpiresAt,
    },
    new Date(),
  );
  await t.rejects(app.github.tokenForUser(b.user.id), { code: 'FFX_ERR_GITHUB_RECONNECT' });
  t.equal(
    await app.github.tokenForUser(a.user.id),
    a.issued.accessToken,
    'the owner is unaffected',
  );
});

t.test('GitHub rejecting the token (revoked in settings) → needs_reconnect', async (t) => {
  const { user, issued } = await connectedUser('revoked-user');
  const octokit = await app.github.forUser(user.id);
  fake.revokeAccessToken(issued.accessToken);
  await t.rejects(octokit.rest.users.getAuthenticated(), { code: 'FFX_ERR_GITHUB_RECONNECT' });
  const row = (await store.getForUser(user.id))!;
  t.equal(row.status, 'needs_reconnect');
  t.match(row.statusReason, /revoked/);
});

t.test(
  'a 401 right after another process rotated the token is retried, not a revocation',
  async (t) => {
    const { user, issued } = await connectedUser('rotated-user');
    let rotated: string | undefined;
    // The request leaves with the old token; just then another process refreshes, and
    // GitHub revokes the old access token as it rotates.
    const racing: typeof fetch = async (input, init) => {
      if (rotated === undefined) {
        fake.advanceTime(9 * HOUR);
        rotated = await accessAt(9 * HOUR).tokenForUser(user.id);
        fake.advanceTime(-9 * HOUR);
        knownSecrets.add(rotated);
      }
      return fetch(input, init);
    };
    const access = createGitHubAccess(
      { db: database.db, config, secretBox: app.secretBox, log: app.log },
      { fetch: racing },
    );
    const octokit = await access.forUser(user.id);
    const { data } = await octokit.rest.users.getAuthenticated();
    t.equal(data.login, 'rotated-user');
    t.not(rotated, issued.accessToken);
    const auths = fake.requests.filter((r) => r.pathname === '/user').slice(-2);
    t.same(
      auths.map((r) => r.status),
      [401, 200],
      'the old token was refused, the retry with the stored one succeeded',
    );
    t.equal((await store.getForUser(user.id))!.status, 'active');
  },
);

t.test('without a connection: GITHUB_RECONNECT', async (t) => {
  const { user } = await createUserWithToken(app);
  await t.rejects(app.github.tokenForUser(user.id), {
    code: 'FFX_ERR_GITHUB_RECONNECT',
    message: /no GitHub account is connected/,
  });
});

t.test('classic tokens never expire and are never refreshed', async (t) => {
  const { user, issued } = await connectedUser('classic-access', { expiring: false });
  t.match(issued.accessToken, /^gho_/);
  t.equal(await accessAt(365 * 24 * HOUR).tokenForUser(user.id), issued.accessToken);
});

t.test('the fake saw only valid GitHub requests', async (t) => {
  t.same(fake.violations, []);
});
