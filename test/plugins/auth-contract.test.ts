// The helpers other areas' tests rely on (test/support/auth.ts) against the real plugin:
// a token and a session each authenticate, scopes and CSRF are enforced.
import t from 'tap';
import { buildTestApp } from '../helper.ts';
import { connectGitHub, createUserWithToken, signIn } from '../support/auth.ts';
import { startFakeGitHub } from '../support/fake-github.ts';

t.test('createUserWithToken, signIn and connectGitHub give working callers', async (t) => {
  const fake = await startFakeGitHub();
  t.teardown(() => fake.close());
  const { app } = await buildTestApp(t, {
    env: {
      GITHUB_CLIENT_ID: fake.clientId,
      GITHUB_CLIENT_SECRET: fake.clientSecret,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_WEB_URL: fake.webUrl,
    },
  });
  const { user, headers } = await createUserWithToken(app, { login: 'octo-contract' });
  const me = await app.inject({ url: '/api/v2/me', headers });
  t.equal(me.statusCode, 200);
  t.match(me.json(), { id: user.id, login: 'octo-contract', auth: { kind: 'token' } });

  const session = await signIn(app, user);
  const viaCookie = await app.inject({ url: '/api/v2/me', headers: session.headers });
  t.equal(viaCookie.statusCode, 200);
  t.equal(viaCookie.json().csrf_token, session.csrfToken);

  await connectGitHub(app, fake, user);
  const octokit = await app.github.forUser(user.id);
  const who = await octokit.rest.users.getAuthenticated();
  t.equal(who.data.login, 'octo-contract');

  const readOnly = await createUserWithToken(app, { scopes: ['runs:read'] });
  const denied = await app.inject({ url: '/api/v2/me', headers: readOnly.headers });
  t.equal(denied.statusCode, 403);
  t.equal(denied.json().code, 'FFX_ERR_FORBIDDEN');
  t.same(fake.violations, []);
});
