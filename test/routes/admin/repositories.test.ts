// The repositories page: the GitHub list with connect buttons, connecting through the form
// (hook created, ping verifies), settings, secret rotation, disconnect (and "anyway"),
// webhook health; escaping of names GitHub reports; CSRF on every form.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { repositoryConnections } from '../../../src/db/schema/index.ts';
import { signIn } from '../../support/auth.ts';
import {
  eventually,
  githubWorld,
  hookSecret,
} from '../../services/repositories/github-fixtures.ts';

t.test('repositories page', async (t) => {
  const { app, fake, user } = await githubWorld(t, {
    login: 'page-repos',
    env: { BACKFILL_RUNS: '0' },
  });
  const session = await signIn(app, user);
  fake.addRepo('page-repos', { name: 'web', description: '<img src=x onerror=alert(1)>' });
  fake.addRepo('page-repos', { name: 'api' });
  fake.addUser({ login: 'elsewhere' });
  fake.addRepo('elsewhere', { name: 'readonly', collaborators: { 'page-repos': 'read' } });

  async function submit(url: string, form: Record<string, string>) {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
    const flash = res.cookies.find((c) => c.name === 'ffx_flash');
    const page = await app.inject({
      url: String(res.headers.location ?? '/admin/repositories'),
      headers: {
        cookie: `${session.cookie}${flash ? `; ffx_flash=${encodeURIComponent(flash.value)}` : ''}`,
      },
    });
    return { res, page };
  }

  const signedOut = await app.inject({ url: '/admin/repositories' });
  t.equal(signedOut.statusCode, 302);
  t.match(signedOut.headers.location, /^\/admin\/login/);

  const empty = await app.inject({ url: '/admin/repositories', headers: session.headers });
  t.equal(empty.statusCode, 200);
  t.match(empty.body, /id="no-connections"/);
  t.match(empty.body, /page-repos\/web/);
  t.match(empty.body, /&lt;img src=x onerror=alert\(1\)&gt;/, 'descriptions are escaped');
  t.notMatch(empty.body, /<img src=x/);
  t.match(empty.body, /elsewhere\/readonly[\s\S]*needs admin rights/);
  t.match(empty.body, /name="full_name" value="page-repos\/web"/);

  const noCsrf = await app.inject({
    method: 'POST',
    url: '/admin/repositories/connect',
    headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'full_name=page-repos%2Fweb',
  });
  t.equal(noCsrf.statusCode, 403);
  t.equal(fake.hooksOf('page-repos/web').length, 0);

  const connected = await submit('/admin/repositories/connect', {
    _csrf: session.csrfToken,
    full_name: 'page-repos/web',
  });
  t.equal(connected.res.statusCode, 303);
  t.match(connected.page.body, /Connected page-repos\/web/);
  t.equal(fake.hooksOf('page-repos/web').length, 1);
  const [row] = await app.db
    .select()
    .from(repositoryConnections)
    .where(eq(repositoryConnections.userId, user.id));
  hookSecret(fake, 'page-repos/web');
  await fake.settled();
  const verified = await eventually(async () => {
    const page = await app.inject({ url: '/admin/repositories', headers: session.headers });
    return /badge ok">verified/.test(page.body) ? page : null;
  });
  t.match(verified.body, new RegExp(`connection-${row!.id}`));
  t.match(verified.body, /1 deliveries/);
  t.match(verified.body, /no failures/);
  t.match(verified.body, /<span class="badge ok">connected<\/span>/);

  const bad = await submit('/admin/repositories/connect', {
    _csrf: session.csrfToken,
    full_name: 'not a repo',
  });
  t.match(bad.page.body, /was not connected: choose a repository as owner\/name/);
  const refused = await submit('/admin/repositories/connect', {
    _csrf: session.csrfToken,
    full_name: 'elsewhere/readonly',
  });
  t.match(refused.page.body, /admin rights on elsewhere\/readonly/);

  const saved = await submit(`/admin/repositories/${row!.id}/settings`, {
    _csrf: session.csrfToken,
    watched_branches: 'main, release/*x, main',
    autofix_mode: 'suggest',
    fix_budget_per_day: '2',
    fix_budget_per_month: '9',
  });
  t.match(saved.page.body, /branch name has a character git does not allow/);
  const ok = await submit(`/admin/repositories/${row!.id}/settings`, {
    _csrf: session.csrfToken,
    watched_branches: 'main, release, main',
    autofix_mode: 'suggest',
    fix_budget_per_day: '2',
    fix_budget_per_month: '9',
    auto_rerun_infrastructure: 'on',
  });
  t.match(ok.page.body, /Settings of page-repos\/web saved/);
  const [updated] = await app.db
    .select()
    .from(repositoryConnections)
    .where(eq(repositoryConnections.id, row!.id));
  t.match(updated, {
    enabled: false,
    watchedBranches: ['main', 'release'],
    autofixMode: 'suggest',
    fixBudgetPerDay: 2,
    fixBudgetPerMonth: 9,
    autoRerunInfrastructure: true,
  });
  t.match(ok.page.body, /badge warn">disabled/);

  const before = hookSecret(fake, 'page-repos/web');
  const rotated = await submit(`/admin/repositories/${row!.id}/rotate-secret`, {
    _csrf: session.csrfToken,
  });
  t.equal(rotated.res.statusCode, 303, rotated.res.body);
  t.match(rotated.page.body, /New webhook secret set on GitHub/);
  t.match(rotated.page.body, /old secret valid until/);
  t.not(hookSecret(fake, 'page-repos/web'), before);

  // Someone else's connection id: not found, as a message.
  const other = await submit(
    '/admin/repositories/00000000-0000-4000-8000-000000000000/rotate-secret',
    { _csrf: session.csrfToken },
  );
  t.match(other.page.body, /Connection not found/);

  fake.failNext(
    'DELETE',
    '/repos/{owner}/{repo}/hooks/{hook_id}',
    403,
    { message: 'Nope' },
    { headers: { 'x-ratelimit-remaining': '4999', 'retry-after': '' } },
  );
  const kept = await submit(`/admin/repositories/${row!.id}/disconnect`, {
    _csrf: session.csrfToken,
  });
  t.match(kept.page.body, /Not disconnected: GitHub refused: Nope/);
  t.match(kept.page.body, /Disconnect anyway/);
  const removed = await submit(`/admin/repositories/${row!.id}/disconnect`, {
    _csrf: session.csrfToken,
  });
  t.match(removed.page.body, /disconnected and its webhook removed/);
  t.equal(fake.hooksOf('page-repos/web').length, 0);
  t.match(removed.page.body, /id="no-connections"/);

  // GitHub unusable (the grant was revoked): the page still renders, and says so.
  const tokens = [...fake.state.accessTokens.keys()];
  for (const token of tokens) fake.revokeAccessToken(token);
  const broken = await app.inject({ url: '/admin/repositories', headers: session.headers });
  t.equal(broken.statusCode, 200);
  t.match(broken.body, /id="github-error"/);
  t.match(broken.body, /reconnected/);
  t.same(fake.violations, []);
});
