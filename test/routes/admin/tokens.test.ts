// The API tokens page: create with a show-once box, list masked, deactivate, activate,
// delete; CSRF on every form; another user's token id is not found.
import t from 'tap';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';

const { app } = await buildTestApp(t);
const owner = await createUserWithToken(app, { login: 'page-owner' });
const session = await signIn(app, owner.user);

/** Posts a form and follows the redirect with the flash cookie, like a browser. */
async function submit(url: string, form: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: body.toString(),
  });
  const flash = res.cookies.find((c) => c.name === 'ffx_flash');
  const page = await app.inject({
    url: String(res.headers.location ?? '/admin/tokens'),
    headers: { cookie: `${session.cookie}${flash ? `; ffx_flash=${flash.value}` : ''}` },
  });
  return { res, page };
}

t.test('create: the token is shown once, then only masked', async (t) => {
  const list = await app.inject({ url: '/admin/tokens', headers: session.headers });
  t.equal(list.statusCode, 200);
  t.match(list.body, /name="scopes" value="account:read"/);
  t.match(list.body, new RegExp(`name="_csrf" value="${session.csrfToken}"`));

  const { res, page } = await submit('/admin/tokens', {
    _csrf: session.csrfToken,
    name: '<script>alert(1)</script>',
    scopes: ['account:read', 'runs:read'],
    expires_in_days: '30',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/tokens');
  const shown = /<code id="flash-secret">(ffx_[0-9A-Za-z]{38})<\/code>/.exec(page.body);
  t.ok(shown, 'the show-once box holds the token');
  t.match(page.body, /data-copy="flash-secret"/, 'with a copy button');
  t.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'names are escaped');
  t.notMatch(page.body, /<script>alert/);
  const token = shown![1]!;
  t.match(page.body, new RegExp(`ffx_…${token.slice(-4)}`));
  t.match(page.body, token.slice(0, 16), 'the prefix is listed');

  const again = await app.inject({ url: '/admin/tokens', headers: session.headers });
  t.notOk(again.body.includes(token), 'never shown again');

  const use = await app.inject({
    url: '/api/v2/oauth/connections',
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(use.statusCode, 200);
});

t.test('form errors come back as messages; CSRF is required', async (t) => {
  const { page } = await submit('/admin/tokens', { _csrf: session.csrfToken, name: 'no scopes' });
  t.match(page.body, /not created: choose at least one scope/);
  const bogus = await submit('/admin/tokens', {
    _csrf: session.csrfToken,
    name: 'bogus',
    scopes: 'admin:root',
  });
  t.match(bogus.page.body, /unknown scope/);

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/admin/tokens',
    headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'name=x&scopes=account%3Aread',
  });
  t.equal(noCsrf.statusCode, 403);
  t.match(noCsrf.body, /FFX_ERR_CSRF/);
});

t.test('deactivate, activate, delete — and only your own tokens', async (t) => {
  const created = await app.inject({
    method: 'POST',
    url: '/api/v2/tokens',
    headers: owner.headers,
    payload: { name: 'managed', scopes: ['account:read'] },
  });
  const { id, token } = created.json() as { id: string; token: string };
  const auth = { authorization: `Bearer ${token}` };

  const off = await submit(`/admin/tokens/${id}/deactivate`, { _csrf: session.csrfToken });
  t.match(off.page.body, /is deactivated/);
  t.match(off.page.body, /inactive/);
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 401);

  const on = await submit(`/admin/tokens/${id}/activate`, { _csrf: session.csrfToken });
  t.match(on.page.body, /is active again/);
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 200);

  const stranger = await createUserWithToken(app);
  const theirs = await signIn(app, stranger.user);
  const steal = await app.inject({
    method: 'POST',
    url: `/admin/tokens/${id}/delete`,
    headers: { ...theirs.headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(theirs.csrfToken)}`,
  });
  t.equal(steal.statusCode, 303);
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 200, 'still works');

  const del = await submit(`/admin/tokens/${id}/delete`, { _csrf: session.csrfToken });
  t.match(del.page.body, /Token deleted/);
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 401);
  const gone = await submit(`/admin/tokens/${id}/delete`, { _csrf: session.csrfToken });
  t.match(gone.page.body, /API token not found/);
});

t.test('the list pages by cursor', async (t) => {
  const many = await createUserWithToken(app, { login: 'many-tokens' });
  for (let i = 0; i < 26; i++)
    await app.inject({
      method: 'POST',
      url: '/api/v2/tokens',
      headers: many.headers,
      payload: { name: `bulk ${i}`, scopes: ['runs:read'] },
    });
  const s = await signIn(app, many.user);
  const first = await app.inject({ url: '/admin/tokens', headers: s.headers });
  const next = /href="(\/admin\/tokens\?cursor=[^"]+)"/.exec(first.body);
  t.ok(next, 'a next-page link');
  const second = await app.inject({ url: next![1]!, headers: s.headers });
  t.equal(second.statusCode, 200);
  t.match(second.body, /First page/);
  t.equal((second.body.match(/bulk \d+|test token/g) ?? []).length, 2, '27 tokens: 25 + 2');
});
