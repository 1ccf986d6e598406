// Connecting repositories against the fake GitHub: the hook is created with JSON content
// type, our events and a secret (stored encrypted), GitHub's ping marks the connection
// verified; connecting twice is idempotent; an existing hook with our URL is adopted; a lost
// hook is recreated; failures leave nothing behind; backfill imports recent runs, also
// when Redis was down while connecting.
import { eq, like } from 'drizzle-orm';
import t from 'tap';
import {
  outbox,
  repositoryConnections,
  workflowJobs,
  workflowRuns,
} from '../../../../src/db/schema/index.ts';
import { secretContext } from '../../../../src/crypto/encrypted-columns.ts';
import { createOutboxStore } from '../../../../src/db/stores/outbox-store.ts';
import { backfillJobId } from '../../../../src/services/repositories/connect-repository.ts';
import { TEST_QUEUE_PREFIX, dropRedisKeysWhenDone, needsRedis, redisUrl } from '../../../helper.ts';
import { createUserWithToken } from '../../../support/auth.ts';
import { redisProxy } from '../../../support/redis-proxy.ts';
import { sendWebhook } from '../../../support/webhook-sender.ts';
import {
  eventually,
  githubWorld,
  hookSecret,
} from '../../../services/repositories/github-fixtures.ts';

t.test('connect a repository', async (t) => {
  const w = await githubWorld(t, { login: 'octo-connect', env: { BACKFILL_RUNS: '5' } });
  const { app, fake, headers } = w;
  fake.addRepo('octo-connect', { name: 'hello', private: true });
  fake.addRepo('octo-connect', { name: 'second' });
  // Runs to backfill: 7 on GitHub, the last 5 imported, with their jobs.
  const seeded = Array.from({ length: 7 }, (_, i) =>
    fake.addRun('octo-connect/hello', {
      status: 'completed',
      conclusion: i % 2 === 0 ? ('success' as const) : ('failure' as const),
      created_at: `2024-06-0${i + 1}T10:00:00Z`,
      updated_at: `2024-06-0${i + 1}T10:05:00Z`,
      run_started_at: `2024-06-0${i + 1}T10:00:00Z`,
    }),
  );
  for (const run of seeded) {
    const conclusion = run.conclusion === 'success' ? 'success' : 'failure';
    fake.addJob(run.id, { name: 'build', conclusion });
    fake.addJob(run.id, { name: 'test', conclusion });
  }

  const res = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-connect/hello', settings: { autofix_mode: 'suggest' } },
  });
  t.equal(res.statusCode, 201, res.body);
  const body = res.json();
  t.equal(body.created, true);
  const connection = body.connection;
  t.match(connection, {
    repository: { full_name: 'octo-connect/hello', private: true, default_branch: 'main' },
    enabled: true,
    autofix_mode: 'suggest',
    webhook: { url: `http://127.0.0.1:${w.port}/api/v1/webhook/github/${connection.id}` },
  });
  t.notOk(JSON.stringify(body).match(/secret_enc|"secret"/), 'no secret in the answer');

  // The hook on GitHub: JSON, our events, a secret that is the one we stored (encrypted).
  const [hook] = fake.hooksOf('octo-connect/hello');
  t.match(hook, {
    active: true,
    config: { url: connection.webhook.url, content_type: 'json', insecure_ssl: '0' },
  });
  t.same([...hook!.events].sort(), ['pull_request', 'workflow_job', 'workflow_run']);
  const secret = hookSecret(fake, 'octo-connect/hello');
  t.ok(secret.length >= 43);
  const [row] = await app.db
    .select()
    .from(repositoryConnections)
    .where(eq(repositoryConnections.id, connection.id));
  t.notOk(row!.webhookSecretEnc.includes(secret), 'stored encrypted');
  t.equal(
    app.secretBox.decrypt(
      row!.webhookSecretEnc,
      secretContext('repository_connections', 'webhook_secret_enc', connection.id),
    ),
    secret,
  );
  t.equal(row!.webhookId, hook!.id);

  // GitHub's ping reached the app through PUBLIC_URL and verified the connection.
  await fake.settled();
  const verified = await eventually(async () => {
    const r = await app.inject({
      url: `/api/v2/repositories/connections/${connection.id}`,
      headers,
    });
    const json = r.json() as { webhook: { verified_at: string | null }; health: unknown };
    return json.webhook.verified_at ? json : null;
  });
  t.match(verified.health, { deliveries_24h: 1, failures_24h: 0 });
  t.equal(fake.state.deliveries.find((d) => d.event === 'ping')?.status, 200);

  // Backfill ran on the queue: the last 5 runs and their jobs.
  // (With Redis the job runs in a BullMQ worker: wait for its rows rather than the queue.)
  await app.queue.idle();
  const runs = await eventually(async () => {
    const rows = await app.db
      .select()
      .from(workflowRuns)
      .where(eq(workflowRuns.connectionId, connection.id));
    const jobCount = (
      await app.db.select().from(workflowJobs).where(eq(workflowJobs.connectionId, connection.id))
    ).length;
    return rows.length === 5 && jobCount === 10 ? rows : null;
  });
  t.equal(runs.length, 5);
  t.same(
    runs.map((r) => r.githubRunId).sort(),
    seeded
      .slice(2)
      .map((r) => r.id)
      .sort(),
    'the most recent ones',
  );
  const jobs = await app.db
    .select()
    .from(workflowJobs)
    .where(eq(workflowJobs.connectionId, connection.id));
  t.equal(jobs.length, 10);

  // A webhook for an imported run updates it (a re-run moved it to attempt 2).
  const latest = seeded.at(-1)!;
  latest.run_attempt = 2;
  latest.status = 'in_progress';
  latest.conclusion = null;
  latest.updated_at = '2024-06-08T09:00:00Z';
  const [delivery] = await fake.deliverEvent(
    'octo-connect/hello',
    'workflow_run',
    fake.workflowRunEvent(latest.id),
  );
  t.equal(delivery!.status, 200);
  const [updated] = await app.db
    .select()
    .from(workflowRuns)
    .where(eq(workflowRuns.githubRunId, latest.id));
  t.match(updated, { runAttempt: 2, status: 'in_progress', conclusion: null, placeholder: false });
  t.equal(
    (await app.db.select().from(workflowRuns).where(eq(workflowRuns.connectionId, connection.id)))
      .length,
    5,
  );

  // Connecting again: same connection, 200, still one hook.
  const again = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-connect/hello' },
  });
  t.equal(again.statusCode, 200);
  t.same(again.json().created, false);
  t.equal(again.json().connection.id, connection.id);
  t.equal(fake.hooksOf('octo-connect/hello').length, 1);
  t.equal(
    (await createOutboxStore(app.db).findByJobKey(backfillJobId(connection.id))).length,
    1,
    'one backfill request, through the outbox',
  );

  // The hook was deleted on GitHub: connecting again recreates it, and asks for a backfill
  // of the runs that could not come by webhook meanwhile (once per repaired hook).
  fake.state.hooks.clear();
  for (let i = 0; i < 2; i++) {
    const repaired = await app.inject({
      method: 'POST',
      url: '/api/v2/repositories/connect',
      headers,
      payload: { full_name: 'octo-connect/hello' },
    });
    t.equal(repaired.statusCode, 200);
  }
  const newHook = fake.hooksOf('octo-connect/hello')[0]!.id;
  t.equal(fake.hooksOf('octo-connect/hello').length, 1);
  t.equal(
    (await createOutboxStore(app.db).findByJobKey(backfillJobId(connection.id, newHook))).length,
    1,
    'a backfill for the repaired hook, once',
  );

  // By repository id, and concurrently twice: one connection, one hook.
  const second = fake.state.repos.get('octo-connect/second')!.data.id;
  const both = await Promise.all(
    [1, 2].map(() =>
      app.inject({
        method: 'POST',
        url: '/api/v2/repositories/connect',
        headers,
        payload: { repository_id: second },
      }),
    ),
  );
  t.same(both.map((r) => r.statusCode).sort(), [200, 201]);
  t.equal(both[0]!.json().connection.id, both[1]!.json().connection.id);
  t.equal(fake.hooksOf('octo-connect/second').length, 1);
  // The one that found the row before its hook was recorded asks under the same key, which
  // the queue runs once (the job id).
  const requests = await app.db
    .select()
    .from(outbox)
    .where(like(outbox.jobKey, `${backfillJobId(both[0]!.json().connection.id)}%`));
  t.same(
    [...new Set(requests.map((r) => r.jobKey))],
    [backfillJobId(both[0]!.json().connection.id)],
    'one backfill job',
  );

  t.same(fake.violations, []);
});

t.test(
  'Redis down while connecting: connected at once, backfilled once Redis is back',
  needsRedis(),
  async (t) => {
    const proxy = await redisProxy(redisUrl!);
    // Registered before the app, so it runs after the app closed (last in, first out);
    // the app's keys are dropped at the end of the file, by then not through the proxy.
    t.teardown(() => proxy.down());
    dropRedisKeysWhenDone(redisUrl!, TEST_QUEUE_PREFIX);
    const { app, fake, headers } = await githubWorld(t, {
      login: 'octo-outage',
      env: { BACKFILL_RUNS: '3', REDIS_URL: proxy.url },
      deps: { jobEnqueueTimeoutMs: 500 },
    });
    t.teardown(() => proxy.up()); // the app closes against a live Redis
    t.equal(app.queue.kind, 'bullmq');
    fake.addRepo('octo-outage', { name: 'repo' });
    for (let i = 1; i <= 3; i++) {
      const run = fake.addRun('octo-outage/repo', {
        status: 'completed',
        conclusion: 'success',
        created_at: `2024-06-0${i}T10:00:00Z`,
        updated_at: `2024-06-0${i}T10:05:00Z`,
        run_started_at: `2024-06-0${i}T10:00:00Z`,
      });
      fake.addJob(run.id, { name: 'build', conclusion: 'success' });
    }

    await proxy.down();
    const started = Date.now();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v2/repositories/connect',
      headers,
      payload: { full_name: 'octo-outage/repo' },
    });
    t.equal(res.statusCode, 201, res.body);
    t.ok(Date.now() - started < 3000, 'the request did not wait for Redis');
    const { id } = res.json().connection as { id: string };
    t.equal(fake.hooksOf('octo-outage/repo').length, 1, 'the hook was created');

    // The backfill request waits in the outbox; the dispatcher records why it cannot move.
    const outboxStore = createOutboxStore(app.db);
    const waiting = await eventually(async () => {
      const [row] = await outboxStore.findByJobKey(backfillJobId(id));
      return row && row.attempts >= 1 ? row : null;
    }, 15_000);
    t.match(waiting, {
      topic: 'backfill-runs',
      payload: { connectionId: id },
      dispatchedAt: null,
      lastError: /job queue is unavailable/,
    });
    const runsOf = async () =>
      app.db.select().from(workflowRuns).where(eq(workflowRuns.connectionId, id));
    t.equal((await runsOf()).length, 0, 'nothing imported while Redis is down');

    await proxy.up();
    const jobs = await eventually(async () => {
      const rows = await app.db
        .select()
        .from(workflowJobs)
        .where(eq(workflowJobs.connectionId, id));
      return rows.length === 3 ? rows : null;
    }, 30_000);
    t.equal(jobs.length, 3, 'the backfill ran once Redis was back');
    t.equal((await runsOf()).length, 3);
    const [row] = await outboxStore.findByJobKey(backfillJobId(id));
    t.not(row!.dispatchedAt, null);
    t.same(fake.violations, []);
  },
);

t.test('adopting and repairing hooks', async (t) => {
  const { app, fake, headers, user } = await githubWorld(t, {
    login: 'octo-adopt',
    env: { BACKFILL_RUNS: '0' },
    pingOnHookCreate: false,
  });
  fake.addRepo('octo-adopt', { name: 'repo' });
  const first = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-adopt/repo' },
  });
  t.equal(first.statusCode, 201);
  const id = first.json().connection.id;
  const hookId = fake.hooksOf('octo-adopt/repo')[0]!.id;

  // The hook id was lost locally while the hook (our URL) still exists with another secret:
  // GitHub answers 422 "Hook already exists"; the hook is adopted and given our secret.
  await app.db
    .update(repositoryConnections)
    .set({ webhookId: null })
    .where(eq(repositoryConnections.id, id));
  fake.hooksOf('octo-adopt/repo')[0]!.config.secret = 'someone-elses-secret-value';
  const adopted = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-adopt/repo' },
  });
  t.equal(adopted.statusCode, 200, adopted.body);
  t.equal(adopted.json().connection.webhook.id, hookId);
  t.equal(fake.hooksOf('octo-adopt/repo').length, 1);
  const [row] = await app.db
    .select()
    .from(repositoryConnections)
    .where(eq(repositoryConnections.id, id));
  t.equal(
    hookSecret(fake, 'octo-adopt/repo'),
    app.secretBox.decrypt(
      row!.webhookSecretEnc,
      secretContext('repository_connections', 'webhook_secret_enc', id),
    ),
    'the adopted hook signs with our secret',
  );
  t.match(fake.hooksOf('octo-adopt/repo')[0]!.config, { content_type: 'json' });

  // The hook was deleted on GitHub: connecting again recreates it.
  fake.state.hooks.clear();
  const repaired = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-adopt/repo' },
  });
  t.equal(repaired.statusCode, 200);
  t.equal(fake.hooksOf('octo-adopt/repo').length, 1);
  t.not(repaired.json().connection.webhook.id, hookId);

  // Another user connecting the same repository gets a connection of their own (and, not
  // being an admin of it, a clear refusal).
  const other = await createUserWithToken(app, { login: 'octo-stranger' });
  const { connectGitHub } = await import('../../../support/auth.ts');
  await connectGitHub(app, fake, other.user);
  fake.addCollaborator('octo-adopt/repo', 'octo-stranger', 'write');
  const refused = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers: other.headers,
    payload: { full_name: 'octo-adopt/repo' },
  });
  t.equal(refused.statusCode, 403);
  t.match(refused.json().message, /admin rights on octo-adopt\/repo/);
  t.ok(user.id);
  t.same(fake.violations, []);
});

t.test('connect failures leave nothing behind', async (t) => {
  const { app, fake, headers, user } = await githubWorld(t, {
    login: 'octo-fail',
    env: { BACKFILL_RUNS: '0' },
  });
  fake.addRepo('octo-fail', { name: 'repo' });
  const count = async () =>
    (
      await app.db
        .select()
        .from(repositoryConnections)
        .where(eq(repositoryConnections.userId, user.id))
    ).length;

  const missing = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-fail/nope' },
  });
  t.equal(missing.statusCode, 404);
  const byId = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { repository_id: 12345 },
  });
  t.equal(byId.statusCode, 404);
  for (const payload of [{}, { full_name: 'octo-fail/repo', repository_id: 1 }]) {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v2/repositories/connect',
      headers,
      payload,
    });
    t.equal(bad.statusCode, 400);
  }
  const malformed = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: "x'; drop table users; --" },
  });
  t.equal(malformed.statusCode, 400);

  fake.failNext(
    'POST',
    '/repos/{owner}/{repo}/hooks',
    403,
    {
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest',
    },
    { headers: { 'x-ratelimit-remaining': '4999', 'retry-after': '' } },
  );
  const upstream = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(upstream.statusCode, 403);
  t.match(upstream.json().message, /Resource not accessible/);
  t.equal(await count(), 0, 'no connection kept without its hook');

  fake.failNext('POST', '/repos/{owner}/{repo}/hooks', 422, {
    message: 'Validation Failed',
    errors: [{ resource: 'Hook', code: 'custom', message: 'Sorry, the URL is not reachable' }],
    documentation_url: 'https://docs.github.com/rest',
  });
  const rejected = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(rejected.statusCode, 409);
  t.match(rejected.json().message, /URL is not reachable/);
  t.equal(await count(), 0);

  const ok = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(ok.statusCode, 201);
  t.equal(await count(), 1);

  // Scopes: a read-only token may not connect; no credentials at all: 401.
  const reader = await createUserWithToken(app, { login: 'octo-reader', scopes: ['repos:read'] });
  const denied = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers: reader.headers,
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(denied.statusCode, 403);
  const anonymous = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(anonymous.statusCode, 401);

  // No GitHub connection for this user: a reconnect error, not a crash.
  const lonely = await createUserWithToken(app, { login: 'octo-lonely' });
  const reconnect = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers: lonely.headers,
    payload: { full_name: 'octo-fail/repo' },
  });
  t.equal(reconnect.statusCode, 409);
  t.equal(reconnect.json().code, 'FFX_ERR_GITHUB_RECONNECT');
  t.same(fake.violations, []);
});

t.test('the ping of a fake hook sent by hand also verifies (form encoding too)', async (t) => {
  const { app, fake, headers } = await githubWorld(t, {
    login: 'octo-form',
    env: { BACKFILL_RUNS: '0' },
    pingOnHookCreate: false,
  });
  fake.addRepo('octo-form', { name: 'repo' });
  const res = await app.inject({
    method: 'POST',
    url: '/api/v2/repositories/connect',
    headers,
    payload: { full_name: 'octo-form/repo' },
  });
  const connection = res.json().connection;
  t.equal(connection.webhook.verified_at, null);
  const hook = fake.hooksOf('octo-form/repo')[0]!;
  const response = await sendWebhook({
    url: connection.webhook.url,
    secret: hookSecret(fake, 'octo-form/repo'),
    event: 'ping',
    payload: {
      zen: 'Design for failure.',
      hook_id: hook.id,
      repository: fake.state.repos.get('octo-form/repo')!.data,
    },
    encoding: 'form',
  });
  t.equal(response.status, 200);
  const after = await app.inject({
    url: `/api/v2/repositories/connections/${connection.id}`,
    headers,
  });
  t.ok(after.json().webhook.verified_at);
});
