// Pure pieces of sign-in: returnTo validation, GitHub token answers (HTTP-200 errors),
// scopes, session lifetimes and CSRF comparison.
import t from 'tap';
import { OAuthTokenError, parseTokenAnswer } from '../../../src/github/oauth-token.ts';
import { safeReturnTo } from '../../../src/services/auth/return-to.ts';
import { ALL_SCOPES, isScope, normaliseScopes } from '../../../src/services/auth/scopes.ts';
import {
  createSessionService,
  hashSessionId,
  SESSION_IDLE_MS,
  SESSION_MAX_MS,
} from '../../../src/services/auth/sessions.ts';
import { createUsersStore } from '../../../src/db/stores/users-store.ts';
import { createSessionsStore } from '../../../src/db/stores/sessions-store.ts';
import { decodeTokenCursor, encodeTokenCursor } from '../../../src/services/auth/api-tokens.ts';
import { testDatabase, TEST_SESSION_SECRET } from '../../helper.ts';

t.test('safeReturnTo accepts same-origin paths only', async (t) => {
  const base = 'https://flowfix.example';
  t.equal(safeReturnTo('/admin/tokens?x=1#y', base), '/admin/tokens?x=1#y');
  t.equal(safeReturnTo('/', base), '/');
  t.equal(safeReturnTo('/a/../admin', base), '/admin', 'normalised');
  for (const bad of [
    undefined,
    '',
    'admin',
    '//evil.test',
    '/\\evil.test',
    '/\tevil',
    'https://evil.test',
    'https://flowfix.example/admin',
    'javascript:alert(1)',
    '/x'.repeat(1001),
    42,
  ])
    t.equal(safeReturnTo(bad, base), null, JSON.stringify(bad)?.slice(0, 20));
});

t.test('parseTokenAnswer: tokens, expiries, and errors that arrive with HTTP 200', async (t) => {
  const now = new Date('2030-01-01T00:00:00Z');
  const expiring = parseTokenAnswer(
    {
      access_token: 'ghu_' + 'a'.repeat(36),
      expires_in: 28800,
      refresh_token: 'ghr_' + 'b'.repeat(76),
      refresh_token_expires_in: '15897600',
      scope: '',
      token_type: 'bearer',
    },
    now,
  );
  t.equal(expiring.accessTokenExpiresAt?.toISOString(), '2030-01-01T08:00:00.000Z');
  t.equal(expiring.refreshTokenExpiresAt?.getTime(), now.getTime() + 15897600_000);
  t.equal(expiring.scopes, '');
  const classic = parseTokenAnswer(
    { access_token: 'gho_' + 'c'.repeat(36), scope: 'repo,read:user' },
    now,
  );
  t.same(
    [classic.refreshToken, classic.accessTokenExpiresAt, classic.scopes],
    [null, null, 'repo read:user'],
  );
  t.throws(
    () =>
      parseTokenAnswer(
        {
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
        },
        now,
      ),
    new OAuthTokenError('bad_verification_code', 'The code passed is incorrect or expired.'),
  );
  const errorOf = (answer: unknown) => {
    try {
      parseTokenAnswer(answer, now);
    } catch (err) {
      return (err as OAuthTokenError).error;
    }
    return 'no error';
  };
  t.equal(errorOf({ error: '<b>weird</b>' }), 'invalid_error', 'odd codes are not echoed');
  t.equal(errorOf({}), 'invalid_answer');
  t.equal(errorOf(null), 'invalid_answer');
  t.equal(errorOf({ access_token: 'short' }), 'invalid_answer');
});

t.test('scopes', async (t) => {
  t.equal(ALL_SCOPES.length, 9);
  t.ok(isScope('runs:read'));
  t.notOk(isScope('runs:admin'));
  t.same(normaliseScopes(['tokens:write', 'runs:read', 'runs:read']), [
    'runs:read',
    'tokens:write',
  ]);
});

t.test('token list cursors round-trip and reject garbage', async (t) => {
  const pos = {
    createdAt: new Date('2030-01-02T03:04:05.678Z'),
    id: '7b0c3f0e-1d2a-4f5b-8c9d-0e1f2a3b4c5d',
  };
  t.same(decodeTokenCursor(encodeTokenCursor(pos)), pos);
  for (const bad of [
    '',
    'e30',
    Buffer.from('[1,2]').toString('base64url'),
    Buffer.from('["x","y"]').toString('base64url'),
  ])
    t.throws(() => decodeTokenCursor(bad), { code: 'FFX_ERR_BAD_REQUEST' });
});

t.test(
  'sessions: idle expiry slides, the absolute limit holds, CSRF compares exactly',
  async (t) => {
    const database = await testDatabase();
    const user = await createUsersStore(database.db).upsertFromGitHub({
      githubId: 4242,
      login: 'session-unit',
      name: null,
      email: null,
      avatarUrl: null,
    });
    let clock = Date.now();
    const sessions = createSessionService(database.db, {
      sessionSecret: TEST_SESSION_SECRET,
      now: () => new Date(clock),
    });
    const created = await sessions.create(user.id, 'agent/1');
    t.match(created.id, /^[A-Za-z0-9_-]{43}$/);
    const found = await sessions.resolve(created.id);
    t.equal(found?.user.login, 'session-unit');
    t.equal(found?.idHash, hashSessionId(created.id));
    t.equal(found?.csrfToken, created.csrfToken);
    t.ok(sessions.csrfMatches(created.csrfToken, created.csrfToken));
    t.notOk(sessions.csrfMatches(created.csrfToken, created.csrfToken.slice(1)));
    t.notOk(sessions.csrfMatches(created.csrfToken, undefined));
    t.notOk(sessions.csrfMatches(created.csrfToken, 'é'.repeat(created.csrfToken.length)));
    t.equal(await sessions.resolve('not-a-session-id'), null, 'malformed ids cost no query');

    // Used every 10 days: still alive at day 20 (idle expiry slides)…
    clock += 10 * 24 * 3600_000;
    t.ok(await sessions.resolve(created.id));
    clock += 10 * 24 * 3600_000;
    t.ok(await sessions.resolve(created.id));
    // …but never past the absolute limit.
    clock += SESSION_MAX_MS - 20 * 24 * 3600_000 + 1000;
    t.equal(await sessions.resolve(created.id), null);

    const idle = await sessions.create(user.id, undefined);
    clock += SESSION_IDLE_MS + 1000;
    t.equal(await sessions.resolve(idle.id), null, 'idle too long');

    t.equal(await sessions.destroy(idle.id), true);
    t.equal(await sessions.destroy(idle.id), false);
    t.equal(await sessions.destroy('bad'), false);
    t.equal(await createSessionsStore(database.db).deleteForUser(user.id), 1);
  },
);
