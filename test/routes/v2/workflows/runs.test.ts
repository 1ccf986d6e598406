// Runs sent by the fake GitHub as webhooks (through the hook the connect flow created)
// show up in GET /api/v2/workflows/runs at once; one run with its jobs and steps; filters
// and keyset pages; statistics (rates, duration percentiles); re-run through GitHub;
// another user sees nothing.
import t from 'tap';
import { createUserWithToken } from '../../../support/auth.ts';
import { githubWorld } from '../../../services/repositories/github-fixtures.ts';

t.test('workflow runs', async (t) => {
  const { app, fake, headers } = await githubWorld(t, {
    login: 'octo-runs',
    env: { BACKFILL_RUNS: '0' },
  });
  fake.addRepo('octo-runs', { name: 'app' });
  fake.addRepo('octo-runs', { name: 'lib' });
  for (const name of ['app', 'lib']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v2/repositories/connect',
      headers,
      payload: { full_name: `octo-runs/${name}` },
    });
    t.equal(res.statusCode, 201);
  }
  await fake.settled();

  // Durations 1..10 minutes on app (every third one failing), one on lib.
  const minutes = (n: number) => n * 60_000;
  const base = Date.parse('2024-07-01T12:00:00Z');
  const sent: number[] = [];
  for (let i = 1; i <= 10; i += 1) {
    const created = new Date(base + i * 3600_000).toISOString().replace('.000', '');
    const run = fake.addRun('octo-runs/app', {
      name: i % 2 ? 'CI' : 'Release',
      head_branch: i % 2 ? 'main' : 'feature/x',
      status: 'completed',
      conclusion: i % 3 === 0 ? 'failure' : 'success',
      created_at: created,
      run_started_at: created,
      updated_at: new Date(base + i * 3600_000 + minutes(i)).toISOString().replace('.000', ''),
      message: `Commit <b>${i}</b>`,
    });
    const job = fake.addJob(run.id, {
      name: 'test',
      conclusion: run.conclusion === 'failure' ? 'failure' : 'success',
      steps: [
        { name: 'Checkout', conclusion: 'success' },
        { name: 'Run tests', conclusion: run.conclusion === 'failure' ? 'failure' : 'success' },
      ],
    });
    const [jobDelivery] = await fake.deliverEvent(
      'octo-runs/app',
      'workflow_job',
      fake.workflowJobEvent(job.id),
    );
    t.equal(jobDelivery!.status, 200);
    const [runDelivery] = await fake.deliverEvent(
      'octo-runs/app',
      'workflow_run',
      fake.workflowRunEvent(run.id),
    );
    t.equal(runDelivery!.status, 200);
    sent.push(run.id);
  }
  const libRun = fake.addRun('octo-runs/lib', {
    status: 'in_progress',
    conclusion: null,
    created_at: '2024-07-01T13:30:00Z',
  });
  await fake.deliverEvent('octo-runs/lib', 'workflow_run', fake.workflowRunEvent(libRun.id));

  await t.test('the list: newest first, filters, keyset pages', async (t) => {
    const all = await app.inject({ url: '/api/v2/workflows/runs?limit=100', headers });
    t.equal(all.statusCode, 200);
    const items = all.json().items as Array<Record<string, unknown>>;
    t.equal(items.length, 11);
    t.same(
      items.slice(0, 2).map((r) => r['github_run_id']),
      [sent[9], sent[8]],
    );
    t.match(items[0], {
      repository: 'octo-runs/app',
      status: 'completed',
      conclusion: 'success',
      head_branch: 'feature/x',
      commit_message: 'Commit <b>10</b>',
      actor: 'octo-runs',
      duration_ms: minutes(10),
      placeholder: false,
      workflow: { name: 'Release' },
    });
    const failed = await app.inject({ url: '/api/v2/workflows/runs?conclusion=failure', headers });
    t.equal(failed.json().items.length, 3);
    const lib = await app.inject({
      url: '/api/v2/workflows/runs?repository=OCTO-RUNS/lib',
      headers,
    });
    t.same(
      lib.json().items.map((r: { github_run_id: number }) => r.github_run_id),
      [libRun.id],
    );
    const branch = await app.inject({
      url: '/api/v2/workflows/runs?branch=main&workflow=CI&status=completed',
      headers,
    });
    t.equal(branch.json().items.length, 5);
    const window = await app.inject({
      url: `/api/v2/workflows/runs?since=${encodeURIComponent('2024-07-01T14:00:00Z')}&until=${encodeURIComponent('2024-07-01T17:00:00Z')}`,
      headers,
    });
    t.equal(window.json().items.length, 3, 'since inclusive, until exclusive');
    const injection = await app.inject({
      url: `/api/v2/workflows/runs?branch=${encodeURIComponent("main' or '1'='1")}`,
      headers,
    });
    t.same(injection.json().items, []);
    const badStatus = await app.inject({ url: '/api/v2/workflows/runs?status=done', headers });
    t.equal(badStatus.statusCode, 400);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof app.inject>> = await app.inject({
        url: `/api/v2/workflows/runs?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        headers,
      });
      seen.push(...res.json().items.map((r: { github_run_id: number }) => r.github_run_id));
      cursor = res.json().next_cursor;
    } while (cursor);
    t.equal(seen.length, 11);
    t.equal(new Set(seen).size, 11, 'each run once across pages');
  });

  await t.test('one run with jobs and steps', async (t) => {
    const list = await app.inject({
      url: '/api/v2/workflows/runs?conclusion=failure&limit=1',
      headers,
    });
    const id = list.json().items[0].id;
    const res = await app.inject({ url: `/api/v2/workflows/runs/${id}`, headers });
    t.equal(res.statusCode, 200);
    t.match(res.json(), {
      id,
      conclusion: 'failure',
      jobs: [
        {
          name: 'test',
          conclusion: 'failure',
          failed_steps: ['Run tests'],
          steps: [
            { number: 1, name: 'Checkout', conclusion: 'success' },
            { number: 2, name: 'Run tests', conclusion: 'failure' },
          ],
        },
      ],
    });
    const other = await createUserWithToken(app, { login: 'octo-runs-other' });
    const hidden = await app.inject({
      url: `/api/v2/workflows/runs/${id}`,
      headers: other.headers,
    });
    t.equal(hidden.statusCode, 404);
    const none = await app.inject({ url: '/api/v2/workflows/runs', headers: other.headers });
    t.same(none.json().items, []);
    const missing = await app.inject({
      url: '/api/v2/workflows/runs/00000000-0000-0000-0000-000000000000',
      headers,
    });
    t.equal(missing.statusCode, 404);
  });

  await t.test('statistics', async (t) => {
    const res = await app.inject({
      url: `/api/v2/workflows/stats?since=${encodeURIComponent('2024-07-01T00:00:00Z')}&until=${encodeURIComponent('2024-07-02T00:00:00Z')}`,
      headers,
    });
    t.equal(res.statusCode, 200);
    const stats = res.json();
    t.match(stats.totals, {
      runs: 11,
      completed: 10,
      success: 7,
      failure: 3,
      success_rate: 0.7,
      failure_rate: 0.3,
    });
    // percentile_cont over 1..10 minutes: p50 = 5.5 min, p95 = 9.55 min.
    t.equal(stats.totals.duration_p50_ms, 330_000);
    t.equal(stats.totals.duration_p95_ms, 573_000);
    const app_ = stats.by_repository.find(
      (r: { repository: string }) => r.repository === 'octo-runs/app',
    );
    t.match(app_, { runs: 10, completed: 10, failure: 3 });
    const lib = stats.by_repository.find(
      (r: { repository: string }) => r.repository === 'octo-runs/lib',
    );
    t.match(lib, { runs: 1, completed: 0, success_rate: null, duration_p50_ms: null });
    const ci = stats.by_workflow.find((r: { workflow: string }) => r.workflow === 'CI');
    t.match(ci, { repository: 'octo-runs/app', runs: 5 });
    const empty = await app.inject({ url: '/api/v2/workflows/stats', headers });
    t.match(empty.json().totals, { runs: 0, success_rate: null });
    const backwards = await app.inject({
      url: `/api/v2/workflows/stats?since=2024-07-02T00:00:00Z&until=2024-07-01T00:00:00Z`,
      headers,
    });
    t.equal(backwards.statusCode, 400);
  });

  await t.test('re-run through GitHub', async (t) => {
    const list = await app.inject({
      url: '/api/v2/workflows/runs?conclusion=failure&limit=1',
      headers,
    });
    const run = list.json().items[0];
    const res = await app.inject({
      method: 'POST',
      url: `/api/v2/workflows/runs/${run.id}/rerun`,
      headers,
      payload: { failed_only: true },
    });
    t.equal(res.statusCode, 202, res.body);
    t.same(res.json(), {
      id: run.id,
      github_run_id: run.github_run_id,
      failed_only: true,
      requested: true,
    });
    t.match(fake.state.reruns.at(-1), { runId: run.github_run_id, failedJobsOnly: true });
    // The new attempt arrives through the webhook and moves the run forward.
    await fake.deliverEvent(
      'octo-runs/app',
      'workflow_run',
      fake.workflowRunEvent(run.github_run_id),
    );
    const after = await app.inject({ url: `/api/v2/workflows/runs/${run.id}`, headers });
    t.match(after.json(), { run_attempt: 2, status: 'queued', conclusion: null });
    // A run that is not completed cannot be re-run: GitHub's reason, as a conflict.
    const again = await app.inject({
      method: 'POST',
      url: `/api/v2/workflows/runs/${run.id}/rerun`,
      headers,
      payload: {},
    });
    t.equal(again.statusCode, 409);
    t.match(again.json().message, /not completed/);
    const reader = await createUserWithToken(app, {
      login: 'octo-runs-reader',
      scopes: ['runs:read'],
    });
    const denied = await app.inject({
      method: 'POST',
      url: `/api/v2/workflows/runs/${run.id}/rerun`,
      headers: reader.headers,
      payload: {},
    });
    t.equal(denied.statusCode, 403);
  });

  t.same(fake.violations, []);
});
