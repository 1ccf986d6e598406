// The account page: the GitHub connection, reconnect, and disconnect with confirmation.
import t from 'tap';
import { createOAuthConnectionsStore } from '../../../src/db/stores/oauth-connections-store.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { connectGitHub, createUserWithToken, signIn } from '../../support/auth.ts';
import { startFakeGitHub } from '../../support/fake-github.ts';

const fake = await startFakeGitHub();
t.teardown(() => fake.close());
knownSecrets.add(fake.clientSecret);
const { app, database } = await buildTestApp(t, {
  env: {
    GITHUB_CLIENT_ID: fake.clientId,
    GITHUB_CLIENT_SECRET: fake.clientSecret,
    GITHUB_API_URL: fake.apiUrl,
    GITHUB_WEB_URL: fake.webUrl,
  },
});

t.test('connection status, scopes, reconnect and disconnect', async (t) => {
  const { user } = await createUserWithToken(app, { login: 'acct-user' });
  const issued = await connectGitHub(app, fake, user, { expiring: false });
  knownSecrets.add(issued.accessToken);
  const session = await signIn(app, user);

  const page = await app.inject({ url: '/admin/account', headers: session.headers });
  t.equal(page.statusCode, 200);
  t.match(page.body, /acct-user/);
  t.match(page.body, /badge ok">connected/);
  t.match(page.body, /repo, read:user, admin:repo_hook/);
  t.match(page.body, /href="\/api\/v2\/oauth\/github\/authorize\?returnTo=%2Fadmin%2Faccount"/);
  t.match(page.body, /<form method="post" action="\/admin\/account\/disconnect" data-confirm=/);
  t.notMatch(page.body, /gho_|v1\.test1/, 'no token or ciphertext on the page');

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/admin/account/disconnect',
    headers: session.headers,
    payload: {},
  });
  t.equal(noCsrf.statusCode, 403);
  t.ok(await createOAuthConnectionsStore(database.db).getForUser(user.id), 'still connected');

  const res = await app.inject({
    method: 'POST',
    url: '/admin/account/disconnect',
    headers: session.headers,
    payload: { _csrf: session.csrfToken },
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/account');
  t.equal(await createOAuthConnectionsStore(database.db).getForUser(user.id), undefined);
  const flash = res.cookies.find((c) => c.name === 'ffx_flash')!;
  const after = await app.inject({
    url: '/admin/account',
    headers: { cookie: `${session.cookie}; ffx_flash=${flash.value}` },
  });
  t.match(after.body, /GitHub is disconnected/);
  t.match(after.body, /access was revoked on GitHub/);
  t.match(after.body, /Connect GitHub/);

  const twice = await app.inject({
    method: 'POST',
    url: '/admin/account/disconnect',
    headers: session.headers,
    payload: { _csrf: session.csrfToken },
  });
  t.equal(twice.statusCode, 303);
  t.same(fake.violations, []);
});
