// Disconnecting GitHub: Flowfix's repository webhooks are deleted on GitHub, the grant is
// revoked upstream, and the local connection and repository connections are removed —
// even when GitHub fails, which is logged.
import t from 'tap';
import { secretContext } from '../../../src/crypto/encrypted-columns.ts';
import { createOAuthConnectionsStore } from '../../../src/db/stores/oauth-connections-store.ts';
import { repositoryConnections } from '../../../src/db/schema/index.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { connectGitHub, createUserWithToken } from '../../support/auth.ts';
import { startFakeGitHub } from '../../support/fake-github.ts';

const fake = await startFakeGitHub({ pingOnHookCreate: false });
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
const store = createOAuthConnectionsStore(database.db);

/** A connected user with `repos` repositories, each with a Flowfix webhook on the fake. */
async function userWithRepos(login: string, repos: string[]) {
  const caller = await createUserWithToken(app, { login });
  const issued = await connectGitHub(app, fake, caller.user);
  knownSecrets.add(issued.accessToken);
  if (issued.refreshToken) knownSecrets.add(issued.refreshToken);
  const octokit = await app.github.forUser(caller.user.id);
  for (const name of repos) {
    const repo = fake.addRepo(login, { name });
    const secret = `hook-secret-${login}-${name}-0123456789`;
    knownSecrets.add(secret);
    const hook = await octokit.rest.repos.createWebhook({
      owner: login,
      repo: name,
      config: { url: `http://flowfix.test/api/v1/webhook/github/x`, content_type: 'json', secret },
      events: ['workflow_run'],
    });
    const id = crypto.randomUUID();
    await database.db.insert(repositoryConnections).values({
      id,
      userId: caller.user.id,
      githubRepoId: repo.data.id,
      fullName: repo.data.full_name,
      webhookId: hook.data.id,
      webhookSecretEnc: app.secretBox.encrypt(
        secret,
        secretContext('repository_connections', 'webhook_secret_enc', id),
      ),
    });
  }
  return { ...caller, issued };
}

async function repoRows(userId: string) {
  return database.db.query.repositoryConnections.findMany({
    where: (r, { eq }) => eq(r.userId, userId),
  });
}

t.test('disconnect deletes webhooks, revokes the grant, removes local data', async (t) => {
  const { user, headers, issued } = await userWithRepos('leaving', ['one', 'two', 'three']);
  // One hook was already removed by hand on GitHub: 404 counts as done.
  const manual = fake.hooksOf('leaving/three')[0]!;
  fake.state.hooks.delete(manual.id);
  const revocations = fake.counters.grantRevocations;

  const res = await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers,
  });
  t.equal(res.statusCode, 200);
  t.same(res.json(), {
    disconnected: true,
    upstream_revoked: true,
    webhooks_removed: 3,
    webhooks_failed: 0,
    repositories_removed: 3,
  });
  for (const name of ['one', 'two', 'three']) t.same(fake.hooksOf(`leaving/${name}`), []);
  t.equal(fake.counters.grantRevocations, revocations + 1);
  t.equal(fake.state.accessTokens.get(issued.accessToken)?.revoked, true, 'token dead upstream');
  const revoke = fake.requests.find((r) => r.pathname === `/applications/${fake.clientId}/grant`)!;
  t.match(revoke.headers.authorization, /^basic /i, 'client credentials, not the user token');

  t.equal(await store.getForUser(user.id), undefined);
  t.same(await repoRows(user.id), []);
  const conn = await app.inject({ url: '/api/v2/oauth/github/connection', headers });
  t.equal(conn.statusCode, 404);
  const me = await app.inject({ url: '/api/v2/me', headers });
  t.equal(me.statusCode, 200, 'API tokens keep working');
  t.equal(me.json().github.status, 'not_connected');

  const again = await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers,
  });
  t.equal(again.statusCode, 404);
});

t.test('GitHub failing: local data is removed anyway and the failure is logged', async (t) => {
  const { user, headers } = await userWithRepos('stubborn', ['keep']);
  fake.failNext('DELETE', '/repos/{owner}/{repo}/hooks/{hook_id}', 422);
  fake.failNext('DELETE', '/applications/{client_id}/grant', 500, undefined, { times: 2 });
  const res = await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers,
  });
  t.equal(res.statusCode, 200);
  t.match(res.json(), {
    upstream_revoked: false,
    webhooks_removed: 0,
    webhooks_failed: 1,
    repositories_removed: 1,
  });
  t.equal(await store.getForUser(user.id), undefined);
  t.same(await repoRows(user.id), []);
  t.match(logs.text(), /could not revoke the GitHub grant/);
  t.match(logs.text(), /could not delete the repository webhook on GitHub/);
});

t.test('a connection that needs reconnecting can still be disconnected', async (t) => {
  const { user, headers, issued } = await userWithRepos('broken', ['r']);
  fake.state.refreshTokens.get(issued.refreshToken!)!.revoked = true;
  const row = (await store.getForUser(user.id))!;
  await store.markNeedsReconnect(row.id, 'GitHub refused the refresh token (bad_refresh_token)');
  const res = await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers,
  });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { webhooks_removed: 1, repositories_removed: 1 });
  t.equal(res.json().upstream_revoked, true, 'the stored token still identified the grant');
  t.same(fake.hooksOf('broken/r'), [], 'the stored token still worked for the webhook');
  t.equal(await store.getForUser(user.id), undefined);
});

t.test(
  'an unreadable stored token: nothing upstream is possible, local data still goes',
  async (t) => {
    const { user, headers } = await userWithRepos('garbled', ['g']);
    const row = (await store.getForUser(user.id))!;
    await store.saveRefreshed(
      row.id,
      {
        accessTokenEnc: row.accessTokenEnc.replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAA'),
        refreshTokenEnc: row.refreshTokenEnc,
        accessTokenExpiresAt: row.accessTokenExpiresAt,
        refreshTokenExpiresAt: row.refreshTokenExpiresAt,
      },
      new Date(),
    );
    const res = await app.inject({
      method: 'DELETE',
      url: '/api/v2/oauth/github/disconnect',
      headers,
    });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { upstream_revoked: false, webhooks_failed: 1, repositories_removed: 1 });
    t.equal(await store.getForUser(user.id), undefined);
    t.match(logs.text(), /GitHub grant not revoked/);
  },
);

t.test("another user's data is untouched", async (t) => {
  const keeper = await userWithRepos('keeper', ['mine']);
  const leaver = await userWithRepos('leaver2', ['theirs']);
  await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers: leaver.headers,
  });
  t.ok(await store.getForUser(keeper.user.id));
  t.equal((await repoRows(keeper.user.id)).length, 1);
  t.equal(fake.hooksOf('keeper/mine').length, 1);
});

t.test('the fake saw only valid GitHub requests', async (t) => {
  t.same(fake.violations, []);
});
