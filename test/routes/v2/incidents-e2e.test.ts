// End to end, as the "Done when" says: a signed failing workflow_run webhook (with
// its jobs) for a connected repository produces, within seconds, one incident whose
// analysis names the failure type and the first error from the job's log (served by the
// fake GitHub), visible through the API and on the incident page; the next green run
// resolves it and the dashboard's figures change.
//
// Without REDIS_URL the app runs jobs in-process. With it, the app gets a BullMQ queue and
// workers under a prefix of its own, so parallel test files never take each other's jobs.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import t from 'tap';
import { incidents } from '../../../src/db/schema/index.ts';
import { createBullmqQueue, startBullmqWorkers } from '../../../src/jobs/bullmq-queue.ts';
import { createProcessors } from '../../../src/jobs/processors.ts';
import { buildTestApp, knownSecrets, redisUrl } from '../../helper.ts';
import { connectGitHub, createUserWithToken, signIn } from '../../support/auth.ts';
import { startFakeGitHub } from '../../support/fake-github.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';
import { JEST_LOG } from '../../services/incidents/logs.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function waitFor<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      const value = await probe();
      if (value !== undefined) resolve(value);
      else if (Date.now() - started > ms) reject(new Error(`nothing after ${ms} ms`));
      else setTimeout(tick, 50);
    };
    void tick();
  });
}

t.test(
  'a failing run webhook becomes an explained incident; a green run resolves it',
  async (t) => {
    const fake = await startFakeGitHub({ pingOnHookCreate: false });
    t.teardown(() => fake.close());
    const prefix = `ffx-e2e-${randomBytes(4).toString('hex')}`;
    // Built before the app (it is one of the app's deps), so it cannot log through it.
    const quiet = { info() {}, warn() {}, error() {} };
    const queue = redisUrl
      ? createBullmqQueue(redisUrl, { log: quiet, prefix, backoffMs: 50 })
      : undefined;
    const { app } = await buildTestApp(t, {
      env: {
        GITHUB_CLIENT_ID: fake.clientId,
        GITHUB_CLIENT_SECRET: fake.clientSecret,
        GITHUB_API_URL: fake.apiUrl,
        GITHUB_WEB_URL: fake.webUrl,
      },
      deps: queue ? { queue } : {},
    });
    if (queue && redisUrl) {
      const address = redisUrl;
      const workers = startBullmqWorkers(address, createProcessors(app), app.log, { prefix });
      t.teardown(async () => {
        await workers.close();
        await queue.close();
        const redis = new Redis(address);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      });
    }

    const { user, headers, token } = await createUserWithToken(app, { login: 'octocat' });
    knownSecrets.add(token);
    const { accessToken } = await connectGitHub(app, fake, user, { login: 'octocat' });
    knownSecrets.add(accessToken);
    const repo = fake.addRepo('octocat', { name: 'app', private: true });
    const { connection, secret } = await seedConnection(app, user.id, {
      githubRepoId: repo.data.id,
      fullName: 'octocat/app',
    });
    const url = `/api/v1/webhook/github/${connection.id}`;
    const send = async (event: string, payload: object) => {
      const { response } = await deliver(app, { url, secret, event, payload });
      t.equal(response.statusCode, 200, `${event} accepted`);
    };

    // A push to main fails: GitHub reports the job, then the run.
    const started = Date.now() - 10 * 60_000;
    const run = fake.addRun('octocat/app', {
      status: 'completed',
      conclusion: 'failure',
      run_started_at: new Date(started).toISOString(),
      updated_at: new Date(started + 120_000).toISOString(),
    });
    const job = fake.addJob(run.id, {
      name: 'test',
      conclusion: 'failure',
      completed_at: new Date(started + 110_000).toISOString(),
      steps: [
        { name: 'Set up job', conclusion: 'success' },
        { name: 'Run npm test', conclusion: 'failure' },
      ],
      log: JEST_LOG,
    });
    const sentAt = Date.now();
    await send('workflow_job', fake.workflowJobEvent(job.id, 'completed'));
    await send('workflow_run', fake.workflowRunEvent(run.id, 'completed'));
    // GitHub retries deliveries; the same one again changes nothing.
    await send('workflow_run', fake.workflowRunEvent(run.id, 'completed'));

    const analysed = await waitFor(async () => {
      const res = await app.inject({ url: '/api/v2/incidents', headers });
      const body = res.json() as Json;
      const item = body.items[0];
      return item?.analysis_status === 'done' ? body : undefined;
    });
    t.ok(Date.now() - sentAt < 10_000, `analysed within ${Date.now() - sentAt} ms`);
    t.equal(analysed.items.length, 1, 'one incident');
    const incident = analysed.items[0] as Json;
    t.match(incident, {
      status: 'open',
      severity: 'high',
      repository: 'octocat/app',
      branch: 'main',
      failed_jobs: ['test'],
      occurrences: 1,
      failure_type: 'test',
      first_error: 'sum › adds numbers: expect(received).toBe(expected) // Object.is equality',
    });

    const detail = (
      await app.inject({ url: `/api/v2/incidents/${incident.id}`, headers })
    ).json() as Json;
    t.match(detail.analysis, {
      status: 'done',
      failure_type: 'test',
      references: [{ file: 'src/sum.test.ts', line: 4, column: 21 }],
    });
    t.match(detail.analysis.summary, /tests failed/);
    t.notMatch(detail.analysis.log_excerpt, /npm_abcdef/, 'the token in the log was scrubbed');
    t.same(
      detail.timeline.items.map((e: Json) => e.kind),
      ['opened', 'analysed'],
    );
    t.equal(detail.failed_jobs[0].github_job_id, job.id);
    t.same(fake.violations, [], 'every GitHub call matched the OpenAPI description');

    const session = await signIn(app, user);
    const page = await app.inject({
      url: `/admin/incidents/${incident.id}`,
      headers: session.headers,
    });
    t.equal(page.statusCode, 200);
    t.match(page.body, /<strong id="failure-type">test<\/strong>/);
    t.match(
      page.body,
      /<code id="first-error">sum › adds numbers: expect\(received\)\.toBe\(expected\)/,
    );
    t.match(page.body, /<span class="err">/);

    const dashboard = async () =>
      (await app.inject({ url: '/admin/dashboard', headers: session.headers })).body;
    const figure = (html: string, id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(html)?.[1];
    let html = await dashboard();
    t.equal(figure(html, 'open-incidents'), '1');
    t.equal(figure(html, 'failure-rate-7'), '100 %');
    t.equal(figure(html, 'mttr'), '—');

    // The fix is pushed; the next run is green.
    const green = fake.addRun('octocat/app', {
      head_sha: 'f1'.repeat(20),
      message: 'Fix the sum',
      status: 'completed',
      conclusion: 'success',
      run_started_at: new Date(started + 300_000).toISOString(),
      updated_at: new Date(started + 420_000).toISOString(),
    });
    const greenJob = fake.addJob(green.id, { name: 'test', conclusion: 'success' });
    await send('workflow_job', fake.workflowJobEvent(greenJob.id, 'completed'));
    await send('workflow_run', fake.workflowRunEvent(green.id, 'completed'));

    const [resolved] = await app.db.select().from(incidents).where(eq(incidents.id, incident.id));
    t.match(resolved, { status: 'resolved', resolvedBy: 'green_run' });
    const after = (
      await app.inject({ url: `/api/v2/incidents/${incident.id}`, headers })
    ).json() as Json;
    t.equal(after.incident.resolved_by, 'green_run');
    t.same(
      after.timeline.items.map((e: Json) => e.kind),
      ['opened', 'analysed', 'resolved'],
      'a new commit fixed it: not flaky',
    );
    t.equal(after.incident.flaky, false);

    html = await dashboard();
    t.equal(figure(html, 'open-incidents'), '0');
    t.equal(figure(html, 'failure-rate-7'), '50 %');
    t.not(figure(html, 'mttr'), '—', 'mean time to resolve is known now');
    const list = (
      await app.inject({ url: '/api/v2/incidents?status=open', headers })
    ).json() as Json;
    t.same(list.counts, { open: 0, acknowledged: 0, resolved: 1, ignored: 0 });
  },
);
