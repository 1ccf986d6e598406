// The incident pages: list with status tabs and counts, filters, the detail page (analysis
// with highlighted error lines, links to GitHub, occurrences, timeline), the status and
// re-analysis forms (CSRF required), owner scoping, and escaping of hostile names.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { incidents, outbox } from '../../../src/db/schema/index.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { deliver, recordRun, seedConnection } from '../../services/incidents/seed.ts';

const EXCERPT = [
  '##[group]Run npm test',
  'FAIL src/sum.test.ts',
  '  ● sum › adds numbers',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '      at Object.<anonymous> (src/sum.test.ts:4:21)',
  '',
  'Tests:       1 failed, 3 passed, 4 total',
  '##[error]Process completed with exit code 1.',
].join('\n');

t.test('incident pages', async (t) => {
  const { app } = await buildTestApp(t, { deps: { processors: {} } });
  const db = app.db;
  const alice = await createUserWithToken(app, { login: 'alice' });
  const mallory = await createUserWithToken(app, { login: 'mallory' });
  const session = await signIn(app, alice.user);
  const other = await signIn(app, mallory.user);
  const hook = createIncidentHook({ notify: () => {} });
  const connection = await seedConnection(db, { userId: alice.user.id, fullName: 'alice/web' });

  const hostile = '<script>alert(1)</script>';
  const recorded = await recordRun(db, connection, {
    conclusion: 'failure',
    workflowName: `CI ${hostile}`,
    branch: 'feat/"><img src=x onerror=alert(1)>',
    jobs: [{ name: 'test', conclusion: 'failure', failedSteps: ['Run npm test'] }],
  });
  await deliver(db, hook, connection, recorded);
  const plain = await recordRun(db, connection, {
    conclusion: 'failure',
    jobs: [{ name: 'lint', conclusion: 'failure' }],
  });
  await deliver(db, hook, connection, plain);
  const [xss, lint] = [
    (await db.select().from(incidents).where(eq(incidents.lastRunId, recorded.run.id)))[0]!,
    (await db.select().from(incidents).where(eq(incidents.lastRunId, plain.run.id)))[0]!,
  ];
  await db
    .update(incidents)
    .set({
      analysisStatus: 'done',
      analysedAt: new Date(),
      failureType: 'test',
      firstError: 'sum › adds numbers: expect(received).toBe(expected) // Object.is equality',
      summary: 'The step "Run npm test" in job "test" failed: tests failed.',
      references: [{ file: 'src/sum.test.ts', line: 4, column: 21 }],
      logExcerpt: EXCERPT,
    })
    .where(eq(incidents.id, lint.id));

  const page = (url: string, headers: Record<string, string> = session.headers) =>
    app.inject({ url, headers });

  t.test('signed-out visitors are sent to sign in', async (t) => {
    const res = await app.inject({ url: '/admin/incidents' });
    t.equal(res.statusCode, 302);
    t.match(res.headers.location, /^\/admin\/login\?returnTo=/);
  });

  t.test('the list: tabs with counts, filters, escaped names', async (t) => {
    const res = await page('/admin/incidents');
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-security-policy'], /script-src 'self'/);
    const html = res.body;
    t.match(html, /aria-current="page"><strong>All<\/strong> <span class="badge">2<\/span>/);
    t.match(html, /open <span class="badge">2<\/span>/);
    t.match(html, /resolved <span class="badge">0<\/span>/);
    t.notMatch(html, /<script>alert/);
    t.notMatch(html, /<img src=x/);
    t.match(html, /CI &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    t.notMatch(html, / style=/, 'no inline styles');
    t.match(html, new RegExp(`href="/admin/incidents/${lint.id}"`));

    const filtered = await page('/admin/incidents?failure_type=test');
    t.notMatch(filtered.body, new RegExp(`/admin/incidents/${xss.id}"`));
    t.match(filtered.body, new RegExp(`/admin/incidents/${lint.id}"`));
    t.match(filtered.body, /<option value="test" selected>/);
    const none = await page('/admin/incidents?status=ignored');
    t.match(none.body, /No incidents match/);
    t.equal((await page('/admin/incidents?status=bogus')).statusCode, 400);

    const theirs = await page('/admin/incidents', other.headers);
    t.match(theirs.body, /No incidents match/);
  });

  t.test('the detail page: analysis with the error lines highlighted, GitHub links', async (t) => {
    const res = await page(`/admin/incidents/${lint.id}`);
    t.equal(res.statusCode, 200);
    const html = res.body;
    t.match(html, /<strong id="failure-type">test<\/strong>/);
    t.match(html, /sum › adds numbers: expect\(received\)\.toBe\(expected\)/);
    t.match(html, /<span class="err"> {2}● sum › adds numbers<\/span>/);
    t.match(html, /<span class="err">##\[error\]Process completed with exit code 1\.<\/span>/);
    t.notMatch(html, /<span class="err">Tests:/, 'ordinary lines are not highlighted');
    t.match(html, /at Object\.&lt;anonymous&gt;/, 'log text is escaped');
    t.match(
      html,
      new RegExp(
        `href="https://github.com/alice/web/blob/${plain.run.headSha}/src/sum.test.ts#L4"`,
      ),
    );
    t.match(
      html,
      new RegExp(`href="https://github.com/alice/web/actions/runs/${plain.run.githubRunId}"`),
    );
    t.match(
      html,
      /<a href="https:\/\/github.com\/alice\/web\/actions\/runs\/\d+\/job\/\d+" rel="noreferrer">lint<\/a>/,
    );
    t.match(html, /name="_csrf" value="[^"]+"/);
    t.notMatch(html, / style=/);

    const hostilePage = await page(`/admin/incidents/${xss.id}`);
    t.notMatch(hostilePage.body, /<script>alert/);
    t.notMatch(hostilePage.body, /<img src=x/);
    t.match(hostilePage.body, /The analysis is pending/);
  });

  t.test("another user's incident is not found", async (t) => {
    const res = await page(`/admin/incidents/${lint.id}`, other.headers);
    t.equal(res.statusCode, 404);
    t.match(res.body, /Incident not found/);
    t.notMatch(res.body, /alice\/web/);
    const form = await app.inject({
      method: 'POST',
      url: `/admin/incidents/${lint.id}/status`,
      headers: { ...other.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: other.csrfToken, status: 'ignored' }).toString(),
    });
    t.equal(form.statusCode, 303);
    t.equal(
      (await db.select().from(incidents).where(eq(incidents.id, lint.id)))[0]!.status,
      'open',
    );
  });

  t.test('status form: CSRF required, then the change and note are on the timeline', async (t) => {
    const post = (fields: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: `/admin/incidents/${lint.id}/status`,
        headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      });
    const forged = await post({ status: 'resolved' });
    t.equal(forged.statusCode, 403);
    const res = await post({ _csrf: session.csrfToken, status: 'acknowledged', note: 'on it' });
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, `/admin/incidents/${lint.id}`);
    const flash = res.cookies.find((c) => c.name === 'ffx_flash');
    t.ok(flash, 'a flash message is left');
    const after = await page(`/admin/incidents/${lint.id}`, {
      cookie: `${session.cookie}; ffx_flash=${flash!.value}`,
    });
    t.match(after.body, /Incident marked acknowledged\./);
    t.match(after.body, /id="incident-status">acknowledged</);
    t.match(after.body, /<td>alice<\/td>\s*<td>\s*on it/);
    const empty = await post({ _csrf: session.csrfToken, status: '', note: '' });
    t.equal(empty.statusCode, 303, 'nothing to change: back with an error message');
  });

  t.test('analyse again queues a fresh analysis', async (t) => {
    const before = (await db.select().from(outbox)).length;
    const res = await app.inject({
      method: 'POST',
      url: `/admin/incidents/${lint.id}/analyse`,
      headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(session.csrfToken)}`,
    });
    t.equal(res.statusCode, 303);
    t.equal((await db.select().from(outbox)).length, before + 1);
  });
});
