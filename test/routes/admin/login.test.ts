// The sign-in page, sign-out, and how pages treat signed-out visitors.
import t from 'tap';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';

t.test('without OAuth configured the page says exactly what to set', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject('/admin/login');
  t.equal(res.statusCode, 200);
  t.match(res.body, /GitHub OAuth is not configured/);
  t.match(res.body, /GITHUB_CLIENT_ID/);
  t.match(res.body, /GITHUB_CLIENT_SECRET/);
  t.match(res.body, /http:\/\/flowfix\.test\/api\/v2\/oauth\/github\/callback/);
  t.notMatch(res.body, /Sign in with GitHub/);
});

t.test('sign-in page, redirects and sign-out', async (t) => {
  const { app, database } = await buildTestApp(t, {
    env: {
      GITHUB_CLIENT_ID: 'Iv1.pagetest',
      GITHUB_CLIENT_SECRET: 'page-test-client-secret-0123456789',
      GITHUB_WEB_URL: 'https://github.example',
    },
  });

  const page = await app.inject('/admin/login?returnTo=%2Fadmin%2Ftokens');
  t.equal(page.statusCode, 200);
  t.match(page.body, /Sign in with GitHub/);
  t.match(page.body, /href="\/api\/v2\/oauth\/github\/authorize\?returnTo=%2Fadmin%2Ftokens"/);
  t.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/github\.example/);

  const evil = await app.inject('/admin/login?returnTo=https%3A%2F%2Fevil.test');
  t.match(evil.body, /returnTo=%2Fadmin"/, 'an off-site returnTo falls back to /admin');

  // Protected pages send signed-out visitors to sign in, and back afterwards.
  for (const path of ['/admin/tokens', '/admin/account']) {
    const res = await app.inject(path);
    t.equal(res.statusCode, 302);
    t.equal(res.headers.location, `/admin/login?returnTo=${encodeURIComponent(path)}`);
  }
  const post = await app.inject({ method: 'POST', url: '/admin/tokens', payload: { name: 'x' } });
  t.equal(post.statusCode, 302);
  t.equal(post.headers.location, '/admin/login');

  const { user } = await createUserWithToken(app, { login: 'page-user' });
  const session = await signIn(app, user);
  const already = await app.inject({
    url: '/admin/login?returnTo=%2Fadmin%2Ftokens',
    headers: session.headers,
  });
  t.equal(already.statusCode, 302);
  t.equal(already.headers.location, '/admin/tokens');

  // Public pages know who is signed in: the layout offers "Sign out".
  const setup = await app.inject({ url: '/admin', headers: session.headers });
  t.match(setup.body, /page-user/);
  t.match(setup.body, /Sign out/);
  t.match(setup.body, new RegExp(`name="_csrf" value="${session.csrfToken}"`));

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/admin/logout',
    headers: session.headers,
    payload: {},
  });
  t.equal(noCsrf.statusCode, 403);
  t.match(noCsrf.headers['content-type'], /text\/html/);

  const before = (await database.db.query.sessions.findMany()).length;
  const out = await app.inject({
    method: 'POST',
    url: '/admin/logout',
    headers: session.headers,
    payload: { _csrf: session.csrfToken },
  });
  t.equal(out.statusCode, 303);
  t.equal(out.headers.location, '/admin/login');
  t.equal(out.cookies.find((c) => c.name === 'ffx_session')?.value, '');
  t.equal((await database.db.query.sessions.findMany()).length, before - 1);
  const flash = out.cookies.find((c) => c.name === 'ffx_flash')!;
  const after = await app.inject({
    url: '/admin/login',
    headers: { cookie: `${session.cookie}; ffx_flash=${flash.value}` },
  });
  t.match(after.body, /You are signed out/);
  t.match(after.body, /Sign in with GitHub/, 'the replayed cookie is no session');
  t.notMatch(after.body, /Sign out/);
  const replay = await app.inject({ url: '/admin/account', headers: session.headers });
  t.equal(replay.statusCode, 302);
});
