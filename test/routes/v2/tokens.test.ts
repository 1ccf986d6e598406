// API tokens through the REST API: shown once, stored as a hash, masked afterwards; every
// API-token line of security.md (format checks before any query, same 401 for every bad
// token, inactive/expired/deleted, scopes, query-string tokens, owner scoping).
import { crc32 } from 'node:zlib';
import t from 'tap';
import { parseApiToken } from '../../../src/crypto/api-token.ts';
import { createApiTokensStore } from '../../../src/db/stores/api-tokens-store.ts';
import {
  createApiTokenService,
  INVALID_TOKEN_MESSAGE,
} from '../../../src/services/auth/api-tokens.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';

const { app, database } = await buildTestApp(t);
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A well-formed token (valid checksum) built from 32 chosen characters. */
function tokenFrom(random: string): string {
  let value = crc32(random);
  let sum = '';
  for (let i = 0; i < 6; i++) {
    sum = BASE62.charAt(value % 62) + sum;
    value = Math.floor(value / 62);
  }
  return `ffx_${random}${sum}`;
}

const owner = await createUserWithToken(app, { login: 'token-owner' });

async function create(headers: Record<string, string>, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/api/v2/tokens', headers, payload: body });
}

t.test('create shows the token once; afterwards only prefix and last 4', async (t) => {
  const res = await create(owner.headers, {
    name: 'deploy script',
    scopes: ['account:read', 'runs:read'],
    expires_in_days: 30,
  });
  t.equal(res.statusCode, 201);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  t.match(body.token, /^ffx_[0-9A-Za-z]{38}$/);
  t.ok(parseApiToken(body.token), 'format and checksum are valid');
  t.equal(body.prefix, body.token.slice(0, 16));
  t.equal(body.last4, body.token.slice(-4));
  t.equal(body.masked, `ffx_…${body.token.slice(-4)}`);
  t.same(body.scopes, ['runs:read', 'account:read']);
  t.ok(new Date(body.expires_at).getTime() > Date.now() + 29 * 24 * 3600_000);

  const row = (await createApiTokensStore(database.db).getForUser(owner.user.id, body.id))!;
  t.notOk(JSON.stringify(row).includes(body.token), 'the row does not contain the token');
  t.equal(row.tokenHash.length, 64);

  const one = await app.inject({ url: `/api/v2/tokens/${body.id}`, headers: owner.headers });
  t.equal(one.statusCode, 200);
  t.notOk(one.body.includes(body.token));
  t.notOk('token' in one.json());
  const list = await app.inject({ url: '/api/v2/tokens', headers: owner.headers });
  t.notOk(list.body.includes(body.token));
  t.ok(list.json().items.some((i: { id: string }) => i.id === body.id));

  // The new token works on a route its scopes allow.
  const use = await app.inject({
    url: '/api/v2/oauth/connections',
    headers: { authorization: `Bearer ${body.token}` },
  });
  t.equal(use.statusCode, 200);
  t.same(use.json(), { items: [], next_cursor: null });
});

t.test('every bad token gets the same 401; malformed ones never reach the database', async (t) => {
  const good = (await create(owner.headers, { name: 'probe', scopes: ['account:read'] })).json()
    .token as string;
  const random = good.slice(4, 36);
  const changed = good.slice(0, 20) + (good[20] === 'a' ? 'b' : 'a') + good.slice(21);
  const samePrefixWrongSecret = tokenFrom(random.slice(0, 12) + 'x'.repeat(20));
  t.ok(parseApiToken(samePrefixWrongSecret), 'a well-formed token with the right lookup prefix');
  const unknown = tokenFrom('Z'.repeat(32));
  const malformed = [
    changed, // checksum no longer matches
    good.replace(/^ffx_/, 'ffy_'),
    good.slice(0, -1),
    `${good}0`,
    good.replace(/.$/, '-'),
    'ffx_',
    'not-a-token',
  ];
  const answers = [];
  for (const token of [...malformed, samePrefixWrongSecret, unknown]) {
    const res = await app.inject({
      url: '/api/v2/oauth/connections',
      headers: { authorization: `Bearer ${token}` },
    });
    t.equal(res.statusCode, 401, token.slice(0, 10));
    t.match(res.headers['www-authenticate'], /^Bearer/);
    answers.push(res.body);
  }
  t.equal(new Set(answers).size, 1, 'one identical answer for every kind of bad token');
  t.same(JSON.parse(answers[0]!), {
    error: 'Unauthorized',
    code: 'FFX_ERR_UNAUTHENTICATED',
    message: INVALID_TOKEN_MESSAGE,
  });
  for (const header of ['Basic dXNlcjpwYXNz', `Token ${good}`, 'Bearer', `Bearer ${good} extra`]) {
    const res = await app.inject({ url: '/api/v2/me', headers: { authorization: header } });
    t.equal(res.statusCode, 401, header.slice(0, 12));
    t.equal(res.json().message, INVALID_TOKEN_MESSAGE);
  }

  // Counting the store's queries: malformed tokens cost none, well-formed ones one.
  const real = createApiTokensStore(database.db);
  let lookups = 0;
  const counting = {
    ...real,
    findByLookupPrefix: (prefix: string) => {
      lookups += 1;
      return real.findByLookupPrefix(prefix);
    },
  };
  const service = createApiTokenService(database.db, { store: counting });
  for (const token of malformed) t.equal(await service.authenticate(token), null);
  t.equal(lookups, 0, 'no database query for a malformed token');
  t.equal(await service.authenticate(samePrefixWrongSecret), null);
  t.equal(lookups, 1, 'a well-formed token is looked up by prefix');
  t.ok(await service.authenticate(good));
});

t.test('inactive, expired and deleted tokens → 401; reactivated works again', async (t) => {
  const made = (
    await create(owner.headers, { name: 'lifecycle', scopes: ['account:read'] })
  ).json();
  const auth = { authorization: `Bearer ${made.token}` };
  const off = await app.inject({
    method: 'PATCH',
    url: `/api/v2/tokens/${made.id}`,
    headers: owner.headers,
    payload: { active: false, name: 'lifecycle (paused)' },
  });
  t.equal(off.statusCode, 200);
  t.match(off.json(), { active: false, name: 'lifecycle (paused)' });
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 401);
  await app.inject({
    method: 'PATCH',
    url: `/api/v2/tokens/${made.id}`,
    headers: owner.headers,
    payload: { active: true },
  });
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 200);

  const del = await app.inject({
    method: 'DELETE',
    url: `/api/v2/tokens/${made.id}`,
    headers: owner.headers,
  });
  t.equal(del.statusCode, 204);
  t.equal((await app.inject({ url: '/api/v2/me', headers: auth })).statusCode, 401);
  t.equal(
    (await app.inject({ url: `/api/v2/tokens/${made.id}`, headers: owner.headers })).statusCode,
    404,
  );

  const soon = await create(owner.headers, {
    name: 'short-lived',
    scopes: ['account:read'],
    expires_at: new Date(Date.now() + 1500).toISOString(),
  });
  t.equal(soon.statusCode, 201);
  const soonAuth = { authorization: `Bearer ${soon.json().token}` };
  t.equal((await app.inject({ url: '/api/v2/me', headers: soonAuth })).statusCode, 200);
  await new Promise((r) => setTimeout(r, 1600));
  t.equal((await app.inject({ url: '/api/v2/me', headers: soonAuth })).statusCode, 401, 'expired');
  const listed = await app.inject({
    url: `/api/v2/tokens/${soon.json().id}`,
    headers: owner.headers,
  });
  t.equal(listed.json().expired, true);

  const past = await create(owner.headers, {
    name: 'already expired',
    scopes: ['account:read'],
    expires_at: new Date(Date.now() - 1000).toISOString(),
  });
  t.equal(past.statusCode, 400);
});

t.test('scopes: read-only token on a write route → 403; no escalation; no smuggling', async (t) => {
  const reader = await createUserWithToken(app, { scopes: ['tokens:read', 'account:read'] });
  const write = await create(reader.headers, { name: 'x', scopes: ['account:read'] });
  t.equal(write.statusCode, 403);
  t.match(write.json(), { code: 'FFX_ERR_FORBIDDEN', message: /tokens:write/ });
  const disconnect = await app.inject({
    method: 'DELETE',
    url: '/api/v2/oauth/github/disconnect',
    headers: reader.headers,
  });
  t.equal(disconnect.statusCode, 403);

  const limited = await createUserWithToken(app, { scopes: ['tokens:write', 'account:read'] });
  const escalate = await create(limited.headers, { name: 'more', scopes: ['repos:write'] });
  t.equal(escalate.statusCode, 403);
  t.match(escalate.json().message, /scopes its creator holds; missing: repos:write/);
  const within = await create(limited.headers, { name: 'same', scopes: ['account:read'] });
  t.equal(within.statusCode, 201);

  const unknown = await create(owner.headers, { name: 'x', scopes: ['admin:everything'] });
  t.equal(unknown.statusCode, 400);
  const none = await create(owner.headers, { name: 'x', scopes: [] });
  t.equal(none.statusCode, 400);

  // A user id smuggled into the body is ignored: the token belongs to the caller.
  const other = await createUserWithToken(app);
  const smuggled = await create(owner.headers, {
    name: 'smuggled',
    scopes: ['account:read'],
    user_id: other.user.id,
    userId: other.user.id,
  });
  t.equal(smuggled.statusCode, 201);
  const me = await app.inject({
    url: '/api/v2/me',
    headers: { authorization: `Bearer ${smuggled.json().token}` },
  });
  t.equal(me.json().id, owner.user.id);
  t.same(me.json().auth.scopes, ['account:read']);
});

t.test('tokens in a query string are refused', async (t) => {
  const token = owner.token;
  for (const url of [
    `/api/v2/me?access_token=${token}`,
    `/api/v2/me?token=${token}`,
    `/api/v2/tokens?cursor=${token}`,
    `/api/v2/me?access_token=whatever`,
  ]) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 400, url.slice(0, 30));
    t.match(res.json().message, /not accepted in the URL/);
  }
  // Even together with a valid header.
  const both = await app.inject({ url: `/api/v2/me?token=${token}`, headers: owner.headers });
  t.equal(both.statusCode, 400);
});

t.test("another user's token → 404 for read, change and delete", async (t) => {
  const mine = (await create(owner.headers, { name: 'private', scopes: ['account:read'] })).json();
  const stranger = await createUserWithToken(app);
  for (const [method, payload] of [
    ['GET', undefined],
    ['PATCH', { active: false }],
    ['DELETE', undefined],
  ] as const) {
    const res = await app.inject({
      method,
      url: `/api/v2/tokens/${mine.id}`,
      headers: stranger.headers,
      ...(payload ? { payload } : {}),
    });
    t.equal(res.statusCode, 404, method);
  }
  const list = await app.inject({ url: '/api/v2/tokens', headers: stranger.headers });
  t.notOk(list.json().items.some((i: { id: string }) => i.id === mine.id));
  const still = await app.inject({ url: `/api/v2/tokens/${mine.id}`, headers: owner.headers });
  t.equal(still.json().active, true, 'untouched');
  const bad = await app.inject({ url: '/api/v2/tokens/not-a-uuid', headers: owner.headers });
  t.equal(bad.statusCode, 400);
});

t.test('the list is paginated by cursor, newest first, without gaps or repeats', async (t) => {
  const lister = await createUserWithToken(app, { login: 'lister' });
  const ids = new Set<string>();
  for (let i = 0; i < 6; i++)
    ids.add((await create(lister.headers, { name: `t${i}`, scopes: ['runs:read'] })).json().id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/api/v2/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ url, headers: lister.headers });
    t.equal(res.statusCode, 200);
    const body = res.json() as {
      items: Array<{ id: string; created_at: string }>;
      next_cursor: string | null;
    };
    t.ok(body.items.length <= 2);
    seen.push(...body.items.map((i) => i.id));
    cursor = body.next_cursor;
    pages += 1;
  } while (cursor && pages < 10);
  t.equal(seen.length, 7, 'six new tokens and the helper’s');
  t.equal(new Set(seen).size, 7, 'no repeats');
  for (const id of ids) t.ok(seen.includes(id));
  const invalid = await app.inject({
    url: '/api/v2/tokens?cursor=garbage',
    headers: lister.headers,
  });
  t.equal(invalid.statusCode, 400);
  const tooMany = await app.inject({ url: '/api/v2/tokens?limit=1000', headers: lister.headers });
  t.equal(tooMany.statusCode, 400);
});

t.test('last_used_at is written at most once a minute', async (t) => {
  const made = (await create(owner.headers, { name: 'usage', scopes: ['account:read'] })).json();
  const auth = { authorization: `Bearer ${made.token}` };
  const store = createApiTokensStore(database.db);
  t.equal((await store.getForUser(owner.user.id, made.id))!.lastUsedAt, null);
  await app.inject({ url: '/api/v2/me', headers: auth });
  const first = (await store.getForUser(owner.user.id, made.id))!.lastUsedAt;
  t.ok(first);
  await app.inject({ url: '/api/v2/me', headers: auth });
  await Promise.all(
    Array.from({ length: 5 }, () => app.inject({ url: '/api/v2/me', headers: auth })),
  );
  const second = (await store.getForUser(owner.user.id, made.id))!.lastUsedAt;
  t.equal(second?.getTime(), first?.getTime(), 'not rewritten within the minute');
  // A minute later (the service's clock), it is written again.
  const later = createApiTokenService(database.db, { now: () => new Date(Date.now() + 61_000) });
  t.ok(await later.authenticate(made.token));
  const third = (await store.getForUser(owner.user.id, made.id))!.lastUsedAt;
  t.ok(third && first && third.getTime() > first.getTime());
});

t.test('sessions need the CSRF token to change state; bearer tokens do not', async (t) => {
  const session = await signIn(app, owner.user);
  const noCsrf = await app.inject({
    method: 'POST',
    url: '/api/v2/tokens',
    headers: session.headers,
    payload: { name: 'from browser', scopes: ['account:read'] },
  });
  t.equal(noCsrf.statusCode, 403);
  t.equal(noCsrf.json().code, 'FFX_ERR_CSRF');
  // One character changed (to a different one: the token may already end in 'A').
  const last = session.csrfToken.slice(-1);
  const wrongToken = `${session.csrfToken.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
  const wrong = await app.inject({
    method: 'POST',
    url: '/api/v2/tokens',
    headers: { ...session.headers, 'x-csrf-token': wrongToken },
    payload: { name: 'from browser', scopes: ['account:read'] },
  });
  t.equal(wrong.statusCode, 403);
  const ok = await app.inject({
    method: 'POST',
    url: '/api/v2/tokens',
    headers: { ...session.headers, 'x-csrf-token': session.csrfToken },
    payload: { name: 'from browser', scopes: ['account:read', 'repos:write'] },
  });
  t.equal(ok.statusCode, 201, 'sessions hold every scope');
  const read = await app.inject({ url: '/api/v2/tokens', headers: session.headers });
  t.equal(read.statusCode, 200, 'reads need no CSRF token');
  // A bearer header wins over the cookie, and needs no CSRF token.
  const bearer = await create(
    { ...session.headers, ...owner.headers },
    {
      name: 'bearer',
      scopes: ['account:read'],
    },
  );
  t.equal(bearer.statusCode, 201);
});

t.test('no credentials at all → 401 with a hint', async (t) => {
  const res = await app.inject({ url: '/api/v2/tokens' });
  t.equal(res.statusCode, 401);
  t.match(res.json().message, /Authorization: Bearer ffx_/);
});
