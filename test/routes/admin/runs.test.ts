// The runs pages: failing and passing runs sent as webhooks are listed at once, filters and
// pages work, one run shows its jobs and steps, names and messages from GitHub are escaped,
// links are only http(s), another user's run is not found; the deliveries log lists what
// arrived and shows a retained payload.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { workflowRuns } from '../../../src/db/schema/index.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';

const REPO = { id: 4440001, full_name: 'pages/<b>repo</b>' };

function runPayload(over: Record<string, unknown>) {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  const wr = base['workflow_run'] as Record<string, unknown>;
  return {
    ...base,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_run: { ...wr, ...over },
  };
}

function jobPayload(over: Record<string, unknown>) {
  const base = loadWebhookExamples('workflow_job')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  const wj = base['workflow_job'] as Record<string, unknown>;
  return {
    ...base,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_job: { ...wj, ...over },
  };
}

t.test('runs and deliveries pages', async (t) => {
  const { app } = await buildTestApp(t);
  const owner = await createUserWithToken(app, { login: 'pages-owner' });
  const session = await signIn(app, owner.user);
  const { connection, secret } = await seedConnection(app, owner.user.id, {
    githubRepoId: REPO.id,
    fullName: REPO.full_name,
  });
  const url = `/api/v1/webhook/github/${connection.id}`;

  // The page's template is compiled once per process: not part of "how soon a run shows".
  await app.inject({ url: '/admin/runs', headers: session.headers });
  const failing = runPayload({
    id: 7_000_001,
    conclusion: 'failure',
    name: 'CI <script>alert(1)</script>',
    head_branch: 'main',
    head_commit: { message: 'Fix "quotes" & <tags>' },
    display_title: 'Fix <tags>',
    html_url: 'https://github.com/pages/repo/actions/runs/7000001',
  });
  const passing = runPayload({
    id: 7_000_002,
    conclusion: 'success',
    name: 'CI',
    head_branch: 'dev',
    html_url: 'javascript:alert(1)',
  });
  for (const payload of [failing, passing]) {
    const { response } = await deliver(app, { url, secret, event: 'workflow_run', payload });
    t.equal(response.statusCode, 200);
  }
  await deliver(app, {
    url,
    secret,
    event: 'workflow_job',
    payload: jobPayload({
      id: 8_000_001,
      run_id: 7_000_001,
      name: 'test <matrix>',
      conclusion: 'failure',
    }),
  });

  // Acknowledged means committed: the page lists the runs as soon as the webhooks got 2xx.
  const started = Date.now();
  const list = await app.inject({ url: '/admin/runs', headers: session.headers });
  t.ok(Date.now() - started < 1000, 'listed within a second of the webhooks');
  t.equal(list.statusCode, 200);
  t.match(list.body, /CI &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.notMatch(list.body, /<script>alert/);
  t.match(list.body, /pages\/&lt;b&gt;repo&lt;\/b&gt;/);
  t.match(list.body, /badge failure">failure/);
  t.match(list.body, /badge success">success/);

  const filtered = await app.inject({
    url: '/admin/runs?conclusion=failure',
    headers: session.headers,
  });
  t.match(filtered.body, /badge failure/);
  t.notMatch(filtered.body, /badge success">success/);
  const byBranch = await app.inject({
    url: '/admin/runs?branch=dev&status=&conclusion=',
    headers: session.headers,
  });
  t.notMatch(byBranch.body, /badge failure">failure/);
  const badChoice = await app.inject({ url: '/admin/runs?status=nope', headers: session.headers });
  t.equal(badChoice.statusCode, 400);

  const rows = await app.db.select().from(workflowRuns);
  const failed = rows.find((r) => r.githubRunId === 7_000_001)!;
  const passed = rows.find((r) => r.githubRunId === 7_000_002)!;
  t.equal(passed.htmlUrl, null, 'a javascript: link is not even stored');

  const detail = await app.inject({ url: `/admin/runs/${failed.id}`, headers: session.headers });
  t.equal(detail.statusCode, 200);
  t.match(detail.body, /Fix &quot;quotes&quot; &amp; &lt;tags&gt;/);
  t.match(detail.body, /test &lt;matrix&gt;/);
  t.match(detail.body, /href="https:\/\/github.com\/pages\/repo\/actions\/runs\/7000001"/);
  t.match(detail.body, /Failed steps:/);
  t.match(detail.body, /Re-run failed jobs/);
  t.match(detail.body, new RegExp(`name="_csrf" value="${session.csrfToken}"`));

  // A link that is not http(s) is never rendered, whatever is stored.
  const { eq } = await import('drizzle-orm');
  await app.db
    .update(workflowRuns)
    .set({ htmlUrl: 'javascript:alert(1)' })
    .where(eq(workflowRuns.id, passed.id));
  const noLink = await app.inject({ url: `/admin/runs/${passed.id}`, headers: session.headers });
  t.notMatch(noLink.body, /javascript:/);
  t.notMatch(noLink.body, /id="github-link"/);

  const other = await createUserWithToken(app, { login: 'pages-other' });
  const otherSession = await signIn(app, other.user);
  const hidden = await app.inject({
    url: `/admin/runs/${failed.id}`,
    headers: otherSession.headers,
  });
  t.equal(hidden.statusCode, 404);
  t.match(hidden.body, /Run not found/);
  const garbage = await app.inject({ url: '/admin/runs/not-a-uuid', headers: session.headers });
  t.equal(garbage.statusCode, 404);
  const otherList = await app.inject({ url: '/admin/runs', headers: otherSession.headers });
  t.match(otherList.body, /id="no-runs"/);

  // Re-run without a GitHub connection: a message, not an error page.
  const rerun = await app.inject({
    method: 'POST',
    url: `/admin/runs/${failed.id}/rerun`,
    headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: session.csrfToken, failed_only: 'on' }).toString(),
  });
  t.equal(rerun.statusCode, 303);
  t.equal(rerun.headers.location, `/admin/runs/${failed.id}`);

  // Pages: 35 runs → two pages of 30 and 5 (plus the two above).
  for (let i = 0; i < 35; i += 1) {
    await deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload: runPayload({
        id: 7_100_000 + i,
        created_at: new Date(Date.UTC(2023, 0, 1, 0, i)).toISOString(),
      }),
    });
  }
  const first = await app.inject({ url: '/admin/runs', headers: session.headers });
  const next = /href="(\/admin\/runs\?cursor=[^"]+)" id="next-page"/.exec(first.body);
  t.ok(next, 'a next page link');
  const second = await app.inject({
    url: next![1]!.replace(/&amp;/g, '&'),
    headers: session.headers,
  });
  t.equal((second.body.match(/href="\/admin\/runs\/[0-9a-f-]{36}"/g) ?? []).length, 7);
  t.notMatch(second.body, /id="next-page"/);

  // Deliveries log and one delivery with its payload.
  const deliveries = await app.inject({ url: '/admin/deliveries', headers: session.headers });
  t.equal(deliveries.statusCode, 200);
  t.match(deliveries.body, /workflow_run\.completed/);
  t.match(deliveries.body, /workflow_job/);
  const ignoredId = randomUUID();
  await deliver(app, {
    url,
    secret,
    event: 'star',
    payload: { action: 'created', repository: REPO },
    deliveryId: ignoredId,
  });
  const ignored = await app.inject({
    url: '/admin/deliveries?outcome=ignored',
    headers: session.headers,
  });
  t.match(ignored.body, /event &quot;star&quot; is not used by Flowfix/);
  t.notMatch(ignored.body, /workflow_run\.completed/);
  const link = /href="\/admin\/deliveries\/([0-9a-f-]{36})"/.exec(ignored.body)!;
  const one = await app.inject({ url: `/admin/deliveries/${link[1]}`, headers: session.headers });
  t.equal(one.statusCode, 200);
  t.match(one.body, new RegExp(ignoredId));
  t.match(one.body, /id="payload"/);
  t.match(one.body, /&quot;action&quot;: &quot;created&quot;/);
  const notMine = await app.inject({
    url: `/admin/deliveries/${link[1]}`,
    headers: otherSession.headers,
  });
  t.equal(notMine.statusCode, 404);
  const byEvent = await app.inject({
    url: '/admin/deliveries?event=workflow_job',
    headers: session.headers,
  });
  t.notMatch(byEvent.body, /workflow_run\.completed/);
  const badCursor = await app.inject({
    url: '/admin/deliveries?cursor=x',
    headers: session.headers,
  });
  t.equal(badCursor.statusCode, 400);
});
