// Managing connections: the GitHub list (all pages, filters, connected flag), the
// connections list (filters, keyset pages), one connection with health, settings (PATCH),
// secret rotation with a grace period, disconnecting (hook removed on GitHub; 404 there is
// fine; failures keep the connection unless forced), statistics, and owner scoping.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { repositoryConnections, workflowRuns } from '../../../../src/db/schema/index.ts';
import { SECRET_ROTATION_GRACE_MS } from '../../../../src/services/repositories/manage-connection.ts';
import { createUserWithToken, signIn } from '../../../support/auth.ts';
import { sendWebhook } from '../../../support/webhook-sender.ts';
import { githubWorld, hookSecret } from '../../../services/repositories/github-fixtures.ts';

t.test('connections', async (t) => {
  const { app, fake, headers, user } = await githubWorld(t, {
    login: 'octo-manage',
    env: { BACKFILL_RUNS: '0' },
    pingOnHookCreate: false,
  });
  // 130 repositories: GitHub pages by 100, so the list needs two pages.
  for (let i = 0; i < 130; i += 1) {
    fake.addRepo('octo-manage', {
      name: `repo-${String(i).padStart(3, '0')}`,
      private: i % 3 === 0,
    });
  }
  fake.addUser({ login: 'someone' });
  fake.addRepo('someone', { name: 'shared', collaborators: { 'octo-manage': 'write' } });
  fake.addRepo('someone', { name: 'invisible', private: true });

  const connect = async (fullName: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v2/repositories/connect',
      headers,
      payload: { full_name: fullName },
    });
    t.equal(res.statusCode, 201, res.body);
    return res.json().connection as { id: string; webhook: { url: string } };
  };
  const a = await connect('octo-manage/repo-000');
  const b = await connect('octo-manage/repo-001');
  const c = await connect('octo-manage/repo-002');

  await t.test('GitHub repositories: every page, filters, connected flag', async (t) => {
    const all = await app.inject({ url: '/api/v2/repositories/github?per_page=100', headers });
    t.equal(all.statusCode, 200);
    t.equal(all.json().total, 131, 'own 130 + the one shared; never the invisible one');
    t.equal(all.json().items.length, 100);
    const page2 = await app.inject({
      url: '/api/v2/repositories/github?per_page=100&page=2',
      headers,
    });
    t.equal(page2.json().items.length, 31);
    const connected = await app.inject({
      url: '/api/v2/repositories/github?connected=true',
      headers,
    });
    t.same(
      connected
        .json()
        .items.map((r: { full_name: string; connection_id: string }) => [
          r.full_name,
          r.connection_id,
        ]),
      [
        ['octo-manage/repo-000', a.id],
        ['octo-manage/repo-001', b.id],
        ['octo-manage/repo-002', c.id],
      ],
    );
    const q = await app.inject({ url: '/api/v2/repositories/github?q=SHARED', headers });
    t.match(q.json().items, [{ full_name: 'someone/shared', admin: false, connected: false }]);
    const adminOnly = await app.inject({
      url: '/api/v2/repositories/github?admin=true&per_page=100&page=2',
      headers,
    });
    t.equal(adminOnly.json().total, 130);
    const desc = await app.inject({
      url: '/api/v2/repositories/github?sort=full_name&direction=desc&per_page=1',
      headers,
    });
    t.equal(desc.json().items[0].full_name, 'someone/shared');
    const bad = await app.inject({ url: '/api/v2/repositories/github?sort=stars', headers });
    t.equal(bad.statusCode, 400);
  });

  await t.test('list, filters, pages, one connection', async (t) => {
    await app.db
      .update(repositoryConnections)
      .set({ webhookVerifiedAt: new Date() })
      .where(eq(repositoryConnections.id, b.id));
    const list = await app.inject({ url: '/api/v2/repositories/connections', headers });
    t.same(
      list.json().items.map((x: { id: string }) => x.id),
      [c.id, b.id, a.id],
      'newest first',
    );
    const verified = await app.inject({
      url: '/api/v2/repositories/connections?verified=true',
      headers,
    });
    t.same(
      verified.json().items.map((x: { id: string }) => x.id),
      [b.id],
    );
    const unverified = await app.inject({
      url: '/api/v2/repositories/connections?verified=false&q=repo-00',
      headers,
    });
    t.same(
      unverified.json().items.map((x: { id: string }) => x.id),
      [c.id, a.id],
    );
    const like = await app.inject({ url: '/api/v2/repositories/connections?q=%25', headers });
    t.same(like.json().items, [], 'LIKE metacharacters are literal');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof app.inject>> = await app.inject({
        url: `/api/v2/repositories/connections?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        headers,
      });
      t.equal(res.statusCode, 200);
      seen.push(...res.json().items.map((x: { id: string }) => x.id));
      cursor = res.json().next_cursor;
    } while (cursor);
    t.same(seen, [c.id, b.id, a.id], 'keyset pages cover everything once');
    const badCursor = await app.inject({
      url: '/api/v2/repositories/connections?cursor=nope',
      headers,
    });
    t.equal(badCursor.statusCode, 400);

    const one = await app.inject({ url: `/api/v2/repositories/connections/${a.id}`, headers });
    t.equal(one.statusCode, 200);
    t.match(one.json(), {
      id: a.id,
      repository: { full_name: 'octo-manage/repo-000', private: true },
      health: { deliveries_24h: 0, failures_24h: 0, last_error: null },
    });
  });

  await t.test('settings', async (t) => {
    const res = await app.inject({
      method: 'PATCH',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
      payload: {
        enabled: false,
        watched_branches: [' main ', 'release/1.x', 'main', ''],
        autofix_mode: 'pull_request',
        fix_budget_per_day: 3,
        fix_budget_per_month: 20,
        auto_rerun_infrastructure: true,
      },
    });
    t.equal(res.statusCode, 400, 'an empty branch name is refused');
    const ok = await app.inject({
      method: 'PATCH',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
      payload: {
        enabled: false,
        watched_branches: [' main', 'release/1.x', 'main'],
        autofix_mode: 'pull_request',
        fix_budget_per_day: 3,
        fix_budget_per_month: 20,
        auto_rerun_infrastructure: true,
      },
    });
    t.equal(ok.statusCode, 200, ok.body);
    t.match(ok.json(), {
      enabled: false,
      watched_branches: ['main', 'release/1.x'],
      autofix_mode: 'pull_request',
      fix_budget_per_day: 3,
      fix_budget_per_month: 20,
      auto_rerun_infrastructure: true,
    });
    for (const payload of [
      {},
      { autofix_mode: 'always' },
      { fix_budget_per_day: -1 },
      { watched_branches: ['a\nb'] },
    ]) {
      const bad = await app.inject({
        method: 'PATCH',
        url: `/api/v2/repositories/connections/${a.id}`,
        headers,
        payload,
      });
      t.equal(bad.statusCode, 400, JSON.stringify(payload));
    }
    // Smuggled fields are dropped, never written.
    const smuggled = await app.inject({
      method: 'PATCH',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
      payload: { enabled: true, user_id: 'x', webhook_secret_enc: 'x' },
    });
    t.equal(smuggled.statusCode, 200);
    const [row] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, a.id));
    t.equal(row!.userId, user.id);
    t.equal(row!.enabled, true);
  });

  await t.test('another user sees none of it', async (t) => {
    const other = await createUserWithToken(app, { login: 'octo-other' });
    for (const [method, url] of [
      ['GET', `/api/v2/repositories/connections/${a.id}`],
      ['PATCH', `/api/v2/repositories/connections/${a.id}`],
      ['DELETE', `/api/v2/repositories/connections/${a.id}`],
      ['POST', `/api/v2/repositories/connections/${a.id}/rotate-secret`],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        headers: other.headers,
        ...(method === 'PATCH' ? { payload: { enabled: false } } : {}),
      });
      t.equal(res.statusCode, 404, `${method} ${url}`);
    }
    const list = await app.inject({
      url: '/api/v2/repositories/connections',
      headers: other.headers,
    });
    t.same(list.json().items, []);
    const stats = await app.inject({ url: '/api/v2/repositories/stats', headers: other.headers });
    t.same(stats.json().repositories, []);
  });

  await t.test(
    'rotating the secret: GitHub gets the new one, the old one still verifies',
    async (t) => {
      const oldSecret = hookSecret(fake, 'octo-manage/repo-001');
      const res = await app.inject({
        method: 'POST',
        url: `/api/v2/repositories/connections/${b.id}/rotate-secret`,
        headers,
      });
      t.equal(res.statusCode, 200, res.body);
      const until = new Date(res.json().webhook.previous_secret_valid_until).getTime();
      t.ok(Math.abs(until - (Date.now() + SECRET_ROTATION_GRACE_MS)) < 60_000);
      const newSecret = hookSecret(fake, 'octo-manage/repo-001');
      t.not(newSecret, oldSecret);
      t.match(fake.hooksOf('octo-manage/repo-001')[0]!.config, {
        content_type: 'json',
        url: b.webhook.url,
      });
      const repo = fake.state.repos.get('octo-manage/repo-001')!.data;
      for (const secret of [newSecret, oldSecret]) {
        const delivered = await sendWebhook({
          url: b.webhook.url,
          secret,
          event: 'ping',
          payload: { zen: 'z', hook_id: 1, repository: repo },
        });
        t.equal(delivered.status, 200);
      }
      // GitHub refusing the new secret: nothing changes locally.
      fake.failNext('PATCH', '/repos/{owner}/{repo}/hooks/{hook_id}', 404);
      const failed = await app.inject({
        method: 'POST',
        url: `/api/v2/repositories/connections/${b.id}/rotate-secret`,
        headers,
      });
      t.equal(failed.statusCode, 404);
      t.equal(hookSecret(fake, 'octo-manage/repo-001'), newSecret);
      const still = await sendWebhook({
        url: b.webhook.url,
        secret: newSecret,
        event: 'ping',
        payload: { zen: 'z', hook_id: 1, repository: repo },
      });
      t.equal(still.status, 200, 'the stored secret still matches GitHub');
    },
  );

  await t.test('statistics', async (t) => {
    await app.db.insert(workflowRuns).values([
      {
        userId: user.id,
        connectionId: c.id,
        githubRunId: 1,
        status: 'completed',
        conclusion: 'failure',
        githubCreatedAt: new Date(),
      },
      {
        userId: user.id,
        connectionId: c.id,
        githubRunId: 2,
        status: 'completed',
        conclusion: 'success',
        githubCreatedAt: new Date(),
      },
      {
        userId: user.id,
        connectionId: c.id,
        githubRunId: 3,
        status: 'completed',
        conclusion: 'success',
        githubCreatedAt: new Date(Date.now() - 30 * 86400_000),
      },
    ]);
    const res = await app.inject({ url: '/api/v2/repositories/stats?days=7', headers });
    t.equal(res.statusCode, 200);
    t.match(res.json().connections, { total: 3, enabled: 3, verified: 1 });
    const forC = res
      .json()
      .repositories.find((r: { connection_id: string }) => r.connection_id === c.id);
    t.match(forC, { full_name: 'octo-manage/repo-002', runs: 2, failures: 1, failure_rate: 0.5 });
    const forB = res
      .json()
      .repositories.find((r: { connection_id: string }) => r.connection_id === b.id);
    t.ok(forB.deliveries >= 2, 'deliveries counted');
  });

  await t.test('disconnecting', async (t) => {
    // GitHub failing: the connection stays (the hook would keep sending), unless forced.
    fake.failNext(
      'DELETE',
      '/repos/{owner}/{repo}/hooks/{hook_id}',
      403,
      { message: 'Must have admin rights to Repository.' },
      { headers: { 'x-ratelimit-remaining': '4999', 'retry-after': '' } },
    );
    const refused = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
    });
    t.equal(refused.statusCode, 403);
    t.equal(fake.hooksOf('octo-manage/repo-000').length, 1);
    t.ok(
      (await app.db.select().from(repositoryConnections).where(eq(repositoryConnections.id, a.id)))
        .length,
    );

    const session = await signIn(app, { id: user.id });
    const noCsrf = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers: session.headers,
    });
    t.equal(noCsrf.statusCode, 403, 'a cookie needs the CSRF token');

    const gone = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
    });
    t.equal(gone.statusCode, 200);
    t.same(gone.json(), { id: a.id, deleted: true, hook_removed: true, hook_error: null });
    t.equal(fake.hooksOf('octo-manage/repo-000').length, 0, 'hook removed on GitHub');
    const again = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${a.id}`,
      headers,
    });
    t.equal(again.statusCode, 404);

    // Already gone on GitHub: fine.
    fake.state.hooks.clear();
    const alreadyGone = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${b.id}`,
      headers,
    });
    t.same(alreadyGone.json().hook_removed, true);

    // Forced while GitHub refuses: removed locally, and said so. Runs go with it.
    const csrf = { ...session.headers, 'x-csrf-token': session.csrfToken };
    await app.db
      .update(repositoryConnections)
      .set({ webhookId: 1 })
      .where(eq(repositoryConnections.id, c.id));
    fake.failNext(
      'DELETE',
      '/repos/{owner}/{repo}/hooks/{hook_id}',
      403,
      { message: 'Nope' },
      { headers: { 'x-ratelimit-remaining': '4999', 'retry-after': '' } },
    );
    const forced = await app.inject({
      method: 'DELETE',
      url: `/api/v2/repositories/connections/${c.id}?force=true`,
      headers: csrf,
    });
    t.equal(forced.statusCode, 200, forced.body);
    t.match(forced.json(), { deleted: true, hook_removed: false, hook_error: /Nope/ });
    t.same(await app.db.select().from(workflowRuns).where(eq(workflowRuns.connectionId, c.id)), []);
  });

  t.same(fake.violations, []);
});
