// After real sign-ins (expiring and classic GitHub tokens), a refresh, sessions and API
// tokens, every text-like column of every table is scanned: no GitHub token, refresh token,
// API token or session id may be stored in plaintext anywhere.
import { sql } from 'drizzle-orm';
import t from 'tap';
import { rowsOf } from '../../../src/db/stores/secrets-store.ts';
import { createGitHubAccess } from '../../../src/github/github-access.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { signInThroughGitHub } from '../../support/auth.ts';
import { startFakeGitHub } from '../../support/fake-github.ts';

const TOKEN_SHAPES = /gh[opusr]_[A-Za-z0-9]{20,}|github_pat_|ffx_[A-Za-z0-9]{30,}/;

t.test('no credential is stored in plaintext in any column', async (t) => {
  const fake = await startFakeGitHub();
  const classic = await startFakeGitHub({ expiringTokens: false });
  t.teardown(() => Promise.all([fake.close(), classic.close()]));
  const env = (f: typeof fake) => ({
    GITHUB_CLIENT_ID: f.clientId,
    GITHUB_CLIENT_SECRET: f.clientSecret,
    GITHUB_API_URL: f.apiUrl,
    GITHUB_WEB_URL: f.webUrl,
  });
  const { app, database, config } = await buildTestApp(t, { env: env(fake) });
  const { app: classicApp } = await buildTestApp(t, { env: env(classic), database });

  const plaintexts: string[] = [];
  fake.addUser({ login: 'scan-a' });
  fake.addUser({ login: 'scan-b' });
  classic.addUser({ login: 'scan-c', id: 77_777 });
  const sessions = [
    await signInThroughGitHub(app, fake, 'scan-a'),
    await signInThroughGitHub(app, fake, 'scan-b'),
    await signInThroughGitHub(classicApp, classic, 'scan-c'),
  ];
  for (const s of sessions) {
    const raw = decodeURIComponent(s.cookie.split('=').slice(1).join('='));
    plaintexts.push(raw.slice(0, raw.lastIndexOf('.')));
  }

  // Rotate one user's tokens through a refresh.
  const user = (await database.db.query.users.findFirst({
    where: (u, { eq }) => eq(u.login, 'scan-a'),
  }))!;
  fake.advanceTime(9 * 3600_000);
  await createGitHubAccess(
    { db: database.db, config, secretBox: app.secretBox, log: app.log },
    { now: () => new Date(Date.now() + 9 * 3600_000) },
  ).tokenForUser(user.id);
  t.equal(fake.counters.refreshGrants, 1);

  // API tokens, created through the API with a session.
  for (const s of sessions.slice(0, 2)) {
    const me = await app.inject({ url: '/api/v2/me', headers: { cookie: s.cookie } });
    const res = await app.inject({
      method: 'POST',
      url: '/api/v2/tokens',
      headers: { cookie: s.cookie, 'x-csrf-token': me.json().csrf_token },
      payload: { name: 'scan', scopes: ['account:read'] },
    });
    t.equal(res.statusCode, 201);
    plaintexts.push(res.json().token);
  }

  plaintexts.push(
    ...fake.state.accessTokens.keys(),
    ...fake.state.refreshTokens.keys(),
    ...classic.state.accessTokens.keys(),
  );
  for (const p of plaintexts) knownSecrets.add(p);
  t.ok(plaintexts.length >= 10, `${plaintexts.length} credentials to look for`);

  const columns = rowsOf<{ table_name: string; column_name: string }>(
    await database.db.execute(sql`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public'
        and data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
      order by table_name, column_name`),
  );
  t.ok(
    columns.some(
      (c) => c.table_name === 'oauth_connections' && c.column_name === 'access_token_enc',
    ),
  );
  t.ok(columns.some((c) => c.table_name === 'sessions' && c.column_name === 'id'));
  let values = 0;
  for (const { table_name: table, column_name: column } of columns) {
    const rows = rowsOf<{ v: string }>(
      await database.db.execute(
        sql.raw(`select "${column}"::text as v from "${table}" where "${column}" is not null`),
      ),
    );
    for (const { v } of rows) {
      values += 1;
      t.notOk(TOKEN_SHAPES.test(v), `${table}.${column} holds no token-shaped value`);
      const leaked = plaintexts.find((p) => v.includes(p));
      if (leaked)
        t.fail(`${table}.${column} contains a plaintext credential (${leaked.slice(0, 6)}…)`);
    }
  }
  t.ok(values > 20, `${values} stored values scanned`);
  t.same(fake.violations, []);
});
