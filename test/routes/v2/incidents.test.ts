// /api/v2/incidents: filters, counts and keyset pagination; the detail view; status changes
// with notes; analysis on request through the outbox; owner scoping (404, never 403),
// scopes, CSRF for cookie sessions, and hostile filter values.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { incidents, outbox } from '../../../src/db/schema/index.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { deliver, recordRun, seedConnection } from '../../services/incidents/seed.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

t.test('incidents API', async (t) => {
  // No processors: queued analyses fail fast without touching the rows under test.
  const { app } = await buildTestApp(t, { deps: { processors: {} } });
  const db = app.db;
  const alice = await createUserWithToken(app, { login: 'alice' });
  const bob = await createUserWithToken(app, { login: 'bob' });
  const reader = await createUserWithToken(app, { login: 'reader', scopes: ['incidents:read'] });
  for (const u of [alice, bob, reader]) knownSecrets.add(u.token);

  const hook = createIncidentHook({ notify: () => {} });
  const web = await seedConnection(db, { userId: alice.user.id, fullName: 'Alice/Web' });
  const api = await seedConnection(db, { userId: alice.user.id, fullName: 'alice/api' });
  const bobs = await seedConnection(db, { userId: bob.user.id, fullName: 'bob/secret' });
  const base = Date.now() - 3600_000;
  const fail = async (
    connection: typeof web,
    job: string,
    opts: { branch?: string; at?: number } = {},
  ) => {
    const recorded = await recordRun(db, connection, {
      conclusion: 'failure',
      branch: opts.branch ?? 'main',
      startedAt: new Date(opts.at ?? base),
      jobs: [{ name: job, conclusion: 'failure', failedSteps: ['Run npm test'] }],
    });
    await deliver(db, hook, connection, recorded);
    return recorded;
  };
  await fail(web, 'test', { at: base });
  await fail(web, 'test', { at: base + 60_000 });
  await fail(web, 'lint', { at: base + 120_000 });
  await fail(web, 'build', { branch: 'feature/x', at: base + 180_000 });
  await fail(api, 'test', { at: base + 240_000 });
  await fail(bobs, 'test', { at: base + 300_000 });
  const rows = await db.select().from(incidents);
  const byJob = (c: string, job: string) =>
    rows.find((r) => r.connectionId === c && r.failedJobs[0] === job)!;
  const webTest = byJob(web.id, 'test');
  const webLint = byJob(web.id, 'lint');
  const bobTest = byJob(bobs.id, 'test');
  await db
    .update(incidents)
    .set({ failureType: 'lint', firstError: 'no-unused-vars' })
    .where(eq(incidents.id, webLint.id));

  const get = (url: string, headers: Record<string, string> = alice.headers) =>
    app.inject({ url, headers });

  t.test('list: newest activity first, with counts; another user sees none of it', async (t) => {
    const res = await get('/api/v2/incidents');
    t.equal(res.statusCode, 200);
    const body = res.json() as Json;
    t.equal(body.items.length, 4);
    t.same(body.counts, { open: 4, acknowledged: 0, resolved: 0, ignored: 0 });
    t.equal(body.items[0].repository, 'alice/api');
    t.notOk(
      body.items.some((i: Json) => i.id === bobTest.id),
      "bob's incident is not listed",
    );
    const first = body.items.find((i: Json) => i.id === webTest.id);
    t.match(first, {
      title: 'CI / test failed on main',
      status: 'open',
      severity: 'high',
      repository: 'Alice/Web',
      occurrences: 2,
      failed_jobs: ['test'],
      flaky: false,
      analysis_status: 'pending',
      resolved_by: null,
    });
    const bobList = (await get('/api/v2/incidents', bob.headers)).json() as Json;
    t.same(
      bobList.items.map((i: Json) => i.id),
      [bobTest.id],
    );
  });

  t.test('filters combine; counts ignore only the status filter', async (t) => {
    const q = async (query: string) => (await get(`/api/v2/incidents?${query}`)).json() as Json;
    t.equal((await q('repository=alice/web')).items.length, 3, 'repository is case-insensitive');
    t.equal((await q('branch=feature/x')).items.length, 1);
    t.equal((await q('severity=medium')).items[0].branch, 'feature/x');
    const lint = await q('failure_type=lint');
    t.same(
      lint.items.map((i: Json) => i.id),
      [webLint.id],
    );
    t.equal(lint.items[0].first_error, 'no-unused-vars');
    const resolved = await q('status=resolved&repository=Alice/Web');
    t.equal(resolved.items.length, 0);
    t.same(resolved.counts, { open: 3, acknowledged: 0, resolved: 0, ignored: 0 });
    t.equal((await q("repository=x' or '1'='1")).items.length, 0, 'no SQL injection');
    t.equal((await q('branch=%25')).items.length, 0, 'no pattern matching either');
    const bad = await get('/api/v2/incidents?status=exploded');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'FFX_ERR_VALIDATION');
  });

  t.test('keyset pagination visits every incident once', async (t) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(
        `/api/v2/incidents?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      const body = res.json() as Json;
      seen.push(...body.items.map((i: Json) => i.id));
      cursor = body.next_cursor;
    } while (cursor);
    t.equal(seen.length, 4);
    t.equal(new Set(seen).size, 4);
    const bad = await get('/api/v2/incidents?cursor=not-a-cursor');
    t.equal(bad.statusCode, 400);
    t.match(bad.json().message, /cursor/);
  });

  t.test('detail: runs, occurrences, timeline, failed jobs, flake rates', async (t) => {
    const res = await get(`/api/v2/incidents/${webTest.id}`);
    t.equal(res.statusCode, 200);
    const d = res.json() as Json;
    t.equal(d.incident.id, webTest.id);
    t.equal(d.repository_url, 'https://github.com/Alice/Web');
    t.match(d.analysis, { status: 'pending', failure_type: null, references: [] });
    t.equal(d.occurrences.total, 2);
    t.equal(d.occurrences.items.length, 2);
    t.match(d.occurrences.items[0].run, { conclusion: 'failure', head_branch: 'main' });
    t.match(
      d.occurrences.items[0].run.html_url,
      /^https:\/\/github\.com\/Alice\/Web\/actions\/runs\/\d+$/,
    );
    t.same(
      d.timeline.items.map((e: Json) => e.kind),
      ['opened', 'occurrence'],
    );
    t.same(
      d.failed_jobs.map((j: Json) => [j.name, j.failed_steps]),
      [['test', ['Run npm test']]],
    );
    t.match(d.failed_jobs[0].html_url, /\/job\//);
    t.match(d.flake_rates, [
      { job: 'test', commits: 2, flaky_commits: 0, rate: 0, window_days: 30 },
    ]);

    const occ = (await get(`/api/v2/incidents/${webTest.id}/occurrences?limit=1`)).json() as Json;
    t.equal(occ.items.length, 1);
    const occ2 = (
      await get(
        `/api/v2/incidents/${webTest.id}/occurrences?limit=1&cursor=${encodeURIComponent(occ.next_cursor)}`,
      )
    ).json() as Json;
    t.equal(occ2.items.length, 1);
    t.not(occ2.items[0].id, occ.items[0].id);
    t.equal(occ2.next_cursor, null);
    const timeline = (await get(`/api/v2/incidents/${webTest.id}/timeline?limit=1`)).json() as Json;
    t.equal(timeline.items[0].kind, 'opened');
    t.type(timeline.next_cursor, 'string');
  });

  t.test("another user's incident is 404, never 403; bad ids are 400", async (t) => {
    for (const url of [
      `/api/v2/incidents/${webTest.id}`,
      `/api/v2/incidents/${webTest.id}/occurrences`,
      `/api/v2/incidents/${webTest.id}/timeline`,
    ]) {
      const res = await get(url, bob.headers);
      t.equal(res.statusCode, 404, url);
      t.equal(res.json().code, 'FFX_ERR_NOT_FOUND');
    }
    const patch = await app.inject({
      method: 'PATCH',
      url: `/api/v2/incidents/${webTest.id}`,
      headers: bob.headers,
      payload: { status: 'resolved' },
    });
    t.equal(patch.statusCode, 404);
    const analyse = await app.inject({
      method: 'POST',
      url: `/api/v2/incidents/${webTest.id}/analyse`,
      headers: bob.headers,
    });
    t.equal(analyse.statusCode, 404);
    t.equal((await get('/api/v2/incidents/not-a-uuid')).statusCode, 400);
    t.equal((await app.inject({ url: '/api/v2/incidents' })).statusCode, 401);
  });

  t.test('status changes with notes, recorded on the timeline', async (t) => {
    const patch = (payload: object, headers: Record<string, string> = alice.headers) =>
      app.inject({
        method: 'PATCH',
        url: `/api/v2/incidents/${webLint.id}`,
        headers,
        payload,
      });
    const ack = await patch({ status: 'acknowledged', note: 'looking into it' });
    t.equal(ack.statusCode, 200);
    t.equal(ack.json().status, 'acknowledged');
    t.type(ack.json().acknowledged_at, 'string');
    const resolved = await patch({ status: 'resolved' });
    t.match(resolved.json(), { status: 'resolved', resolved_by: 'manual' });
    const noteOnly = await patch({ note: 'fixed by #12' });
    t.equal(noteOnly.json().status, 'resolved');
    const reopened = await patch({ status: 'open' });
    t.match(reopened.json(), { status: 'open', resolved_by: null, resolved_at: null });
    const ignored = await patch({ status: 'ignored', note: 'third-party outage' });
    t.equal(ignored.json().status, 'ignored');

    const timeline = (await get(`/api/v2/incidents/${webLint.id}/timeline`)).json() as Json;
    t.same(
      timeline.items.map((e: Json) => [e.kind, e.actor, e.note]),
      [
        ['opened', 'system', null],
        ['acknowledged', 'alice', 'looking into it'],
        ['resolved', 'alice', null],
        ['note', 'alice', 'fixed by #12'],
        ['reopened', 'alice', null],
        ['ignored', 'alice', 'third-party outage'],
      ],
    );
    t.match(timeline.items[2].data, { from: 'acknowledged', to: 'resolved', resolvedBy: 'manual' });

    t.equal((await patch({})).statusCode, 400, 'something to change is required');
    t.equal((await patch({ status: 'exploded' })).statusCode, 400);
    t.equal((await patch({ note: 'x'.repeat(2001) })).statusCode, 400);
    const smuggled = await patch({
      status: 'open',
      resolved_by: 'green_run',
      user_id: bob.user.id,
    });
    t.equal(smuggled.statusCode, 200, 'unknown fields are dropped');
    t.equal(smuggled.json().resolved_by, null);
    t.equal((await patch({ status: 'acknowledged' }, reader.headers)).statusCode, 403);

    const counts = ((await get('/api/v2/incidents')).json() as Json).counts;
    t.same(counts, { open: 4, acknowledged: 0, resolved: 0, ignored: 0 });
  });

  t.test('a cookie session needs the CSRF token to write', async (t) => {
    const session = await signIn(app, alice.user);
    const without = await app.inject({
      method: 'PATCH',
      url: `/api/v2/incidents/${webTest.id}`,
      headers: session.headers,
      payload: { note: 'from the browser' },
    });
    t.equal(without.statusCode, 403);
    t.equal(without.json().code, 'FFX_ERR_CSRF');
    const withToken = await app.inject({
      method: 'PATCH',
      url: `/api/v2/incidents/${webTest.id}`,
      headers: { ...session.headers, 'x-csrf-token': session.csrfToken },
      payload: { note: 'from the browser' },
    });
    t.equal(withToken.statusCode, 200);
  });

  t.test('analyse again: a fresh outbox row every time', async (t) => {
    const one = await app.inject({
      method: 'POST',
      url: `/api/v2/incidents/${webTest.id}/analyse`,
      headers: alice.headers,
    });
    t.equal(one.statusCode, 202);
    t.match(one.json(), {
      status: 'queued',
      job_key: new RegExp(`^analyse-${webTest.id}-manual-`),
    });
    const two = await app.inject({
      method: 'POST',
      url: `/api/v2/incidents/${webTest.id}/analyse`,
      headers: alice.headers,
    });
    t.not(two.json().job_key, one.json().job_key);
    const keys = (await db.select().from(outbox)).map((r) => r.jobKey);
    t.ok(keys.includes(one.json().job_key));
    t.ok(keys.includes(two.json().job_key));
    const timeline = (await get(`/api/v2/incidents/${webTest.id}/timeline`)).json() as Json;
    t.equal(timeline.items.filter((e: Json) => e.kind === 'analysis_requested').length, 2);
    const readOnly = await app.inject({
      method: 'POST',
      url: `/api/v2/incidents/${webTest.id}/analyse`,
      headers: reader.headers,
    });
    t.equal(readOnly.statusCode, 403);
  });

  t.test('documented in OpenAPI under the incidents tag', async (t) => {
    const doc = (await app.inject({ url: '/docs/json' })).json() as Json;
    for (const path of [
      '/api/v2/incidents/',
      '/api/v2/incidents/{id}',
      '/api/v2/incidents/{id}/analyse',
      '/api/v2/incidents/{id}/occurrences',
      '/api/v2/incidents/{id}/timeline',
    ]) {
      const ops = doc.paths[path] ?? doc.paths[path.replace(/\/$/, '')];
      t.ok(ops, path);
      for (const op of Object.values(ops ?? {}) as Json[]) t.same(op.tags, ['incidents']);
    }
    const patch = doc.paths['/api/v2/incidents/{id}'].patch;
    t.ok(patch.responses['404']);
    t.same(patch.security, [{ session: [] }, { apiToken: [] }]);
  });
});
