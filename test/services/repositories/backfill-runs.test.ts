// The backfill of a newly connected repository (job `backfill-runs`), against the fake
// GitHub: it imports the most recent runs with their jobs, stops at the limit however the
// listing is paged, leaves webhooks free to move imported runs forward (one row per run or
// job, never a copy, never backwards), raises no incidents, and when GitHub fails it says so
// clearly while what was already stored stays — a retry completes the import.
import { eq } from 'drizzle-orm';
import t from 'tap';
import { incidents, workflowJobs, workflowRuns } from '../../../src/db/schema/index.ts';
import { createGitHubAccess } from '../../../src/github/github-access.ts';
import { createProcessors } from '../../../src/jobs/processors.ts';
import { RetryLaterError, UnrecoverableJobError } from '../../../src/jobs/types.ts';
import { backfillRuns } from '../../../src/services/repositories/backfill-runs.ts';
import { deliver, seedConnection } from '../ingest/ingest-fixtures.ts';
import { githubWorld } from './github-fixtures.ts';

const LOGIN = 'octo-backfill';

t.test('backfill-runs', async (t) => {
  const world = await githubWorld(t, { login: LOGIN, pingOnHookCreate: false });
  const { app, fake } = world;
  let repoCount = 0;
  let clock = Date.parse('2024-03-01T00:00:00Z');
  const at = () => new Date((clock += 60_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');

  /** A repository on GitHub and its connection in Flowfix (no hook, no queued backfill). */
  async function repository() {
    repoCount += 1;
    const repo = fake.addRepo(LOGIN, { name: `history-${repoCount}` });
    const { connection, secret } = await seedConnection(app, world.user.id, {
      githubRepoId: repo.data.id,
      fullName: repo.data.full_name,
    });
    const addRun = (over: Parameters<typeof fake.addRun>[1] = {}) => {
      const created = at();
      return fake.addRun(repo.data.full_name, {
        status: 'completed',
        conclusion: 'success',
        created_at: created,
        updated_at: created,
        run_started_at: created,
        ...over,
      });
    };
    const runRows = () =>
      app.db.select().from(workflowRuns).where(eq(workflowRuns.connectionId, connection.id));
    const jobRows = () =>
      app.db.select().from(workflowJobs).where(eq(workflowJobs.connectionId, connection.id));
    const send = async (event: string, payload: Record<string, unknown>) => {
      const { response } = await deliver(app, {
        url: `/api/v1/webhook/github/${connection.id}`,
        secret,
        event,
        payload,
      });
      t.equal(response.statusCode, 200, `${event} delivered: ${response.body}`);
    };
    return { repo, connection, addRun, runRows, jobRows, send };
  }

  const deps = (limit: number) => ({ db: app.db, github: app.github, limit });
  const requestsTo = (suffix: string) =>
    fake.requests.filter((r) => r.method === 'GET' && r.pathname.endsWith(suffix));

  await t.test('imports runs and the jobs of their latest attempt', async (t) => {
    const r = await repository();
    const failed = r.addRun({ conclusion: 'failure', name: 'Tests' });
    fake.addJob(failed.id, { name: 'unit', conclusion: 'failure' });
    fake.addJob(failed.id, { name: 'lint', conclusion: 'success' });
    const rerun = r.addRun({ run_attempt: 2 });
    fake.addJob(rerun.id, { name: 'build', conclusion: 'failure', run_attempt: 1 });
    fake.addJob(rerun.id, { name: 'build', conclusion: 'success', run_attempt: 2 });
    const running = r.addRun({ status: 'in_progress', conclusion: null });

    const result = await backfillRuns(deps(10), r.connection.id);
    t.same(result, { runs: 3, jobs: 3, skipped: false });

    const runs = await r.runRows();
    const byId = new Map(runs.map((run) => [run.githubRunId, run]));
    t.match(byId.get(failed.id), {
      userId: world.user.id,
      status: 'completed',
      conclusion: 'failure',
      workflowName: 'Tests',
      headBranch: 'main',
      placeholder: false,
    });
    t.match(byId.get(rerun.id), { runAttempt: 2, conclusion: 'success' });
    t.match(byId.get(running.id), { status: 'in_progress', conclusion: null });

    const jobs = await r.jobRows();
    t.same(
      jobs.map((j) => [j.githubRunId, j.name, j.conclusion, j.runAttempt]).sort(),
      [
        [failed.id, 'lint', 'success', 1],
        [failed.id, 'unit', 'failure', 1],
        [rerun.id, 'build', 'success', 2],
      ].sort(),
      'only the latest attempt of each run',
    );
    t.ok(
      jobs.every((j) => j.runId === byId.get(j.githubRunId)!.id),
      'jobs hang off the imported runs',
    );
    const raised = await app.db
      .select()
      .from(incidents)
      .where(eq(incidents.connectionId, r.connection.id));
    t.same(raised, [], 'imported history raises no incident, failed runs included');

    // Importing again (a retried job, a second connect) changes nothing.
    t.same(await backfillRuns(deps(10), r.connection.id), { runs: 3, jobs: 3, skipped: false });
    t.equal((await r.runRows()).length, 3);
    t.equal((await r.jobRows()).length, 3);
  });

  await t.test('stops at the limit, across pages of runs and of jobs', async (t) => {
    const r = await repository();
    const seeded = Array.from({ length: 230 }, () => r.addRun());
    // One run has more jobs than a page holds.
    const newest = seeded.at(-1)!;
    for (let i = 0; i < 105; i += 1) fake.addJob(newest.id, { name: `shard ${i}` });
    const before = requestsTo('/actions/runs').length;

    const result = await backfillRuns(deps(150), r.connection.id);
    t.same(result, { runs: 150, jobs: 105, skipped: false });
    const runs = await r.runRows();
    t.same(
      runs.map((run) => run.githubRunId).sort((a, b) => a - b),
      seeded
        .slice(-150)
        .map((run) => run.id)
        .sort((a, b) => a - b),
      'the 150 most recent runs',
    );
    const pages = requestsTo('/actions/runs').slice(before);
    t.same(
      pages.map((p) => [p.query['per_page'], p.query['page'] ?? '1']),
      [
        ['100', '1'],
        ['100', '2'],
      ],
      'two pages of 100 asked for, not the third',
    );
    t.equal((await r.jobRows()).length, 105, 'every page of the jobs');

    // A small limit asks for no more than it needs.
    const small = await repository();
    for (let i = 0; i < 5; i += 1) small.addRun();
    const mark = requestsTo('/actions/runs').length;
    t.same(await backfillRuns(deps(3), small.connection.id), { runs: 3, jobs: 0, skipped: false });
    t.same(
      requestsTo('/actions/runs')
        .slice(mark)
        .map((p) => p.query['per_page']),
      ['3'],
    );
    t.same(await backfillRuns(deps(0), small.connection.id), { runs: 0, jobs: 0, skipped: true });
  });

  await t.test('webhooks move imported runs and jobs forward, never a copy', async (t) => {
    const r = await repository();
    const run = r.addRun({ status: 'in_progress', conclusion: null });
    const job = fake.addJob(run.id, {
      name: 'test',
      status: 'in_progress',
      conclusion: null,
      completed_at: null,
    });
    await backfillRuns(deps(10), r.connection.id);
    const [imported] = await r.runRows();
    const [importedJob] = await r.jobRows();
    t.match(imported, { githubRunId: run.id, status: 'in_progress' });

    // The run finishes on GitHub; its webhooks arrive.
    const done = at();
    Object.assign(job, { status: 'completed', conclusion: 'failure', completed_at: done });
    Object.assign(run, { status: 'completed', conclusion: 'failure', updated_at: done });
    await r.send('workflow_job', fake.workflowJobEvent(job.id, 'completed'));
    await r.send('workflow_run', fake.workflowRunEvent(run.id, 'completed'));

    const runs = await r.runRows();
    t.equal(runs.length, 1, 'still one row for the run');
    t.match(runs[0], { id: imported!.id, status: 'completed', conclusion: 'failure' });
    const jobs = await r.jobRows();
    t.equal(jobs.length, 1, 'still one row for the job');
    t.match(jobs[0], { id: importedJob!.id, status: 'completed', conclusion: 'failure' });

    // An import that races a webhook (GitHub's list still shows the run running) does not
    // move it back.
    const racing = r.addRun({ status: 'in_progress', conclusion: null });
    const later = at();
    const finished = fake.workflowRunEvent(racing.id, 'completed');
    Object.assign(finished['workflow_run'] as object, {
      status: 'completed',
      conclusion: 'success',
      updated_at: later,
    });
    await r.send('workflow_run', finished);
    await backfillRuns(deps(10), r.connection.id);
    const raced = (await r.runRows()).filter((row) => row.githubRunId === racing.id);
    t.equal(raced.length, 1);
    t.match(raced[0], { status: 'completed', conclusion: 'success' });
  });

  await t.test('a GitHub failure is clear and loses nothing', async (t) => {
    const r = await repository();
    const runs = Array.from({ length: 6 }, () => r.addRun({ conclusion: 'failure' }));
    for (const run of runs) fake.addJob(run.id, { name: 'test', conclusion: 'failure' });
    // One run already came by webhook before the connection's backfill runs.
    await r.send('workflow_run', fake.workflowRunEvent(runs[0]!.id, 'completed'));

    // Through the job's processor, as the queue runs it: a 4xx is final and says so.
    const process = createProcessors(app)['backfill-runs']!;
    const ctx = {
      jobId: 'backfill-test',
      attempt: 1,
      log: app.log,
      signal: new AbortController().signal,
    };
    fake.failNext('GET', '/repos/{owner}/{repo}/actions/runs', 404);
    const refused = await process({ connectionId: r.connection.id }, ctx).then(
      () => null,
      (err: unknown) => err,
    );
    t.type(refused, UnrecoverableJobError);
    t.match((refused as Error).message, /^GitHub answered 404: Not Found/);
    t.equal((await r.runRows()).length, 1, 'the run that came by webhook is still there');

    // A server error halfway through the jobs (no Octokit retries here): the job fails with
    // GitHub's status, to be retried; what was written stays, and the retry completes it.
    const noRetries = createGitHubAccess(
      { db: app.db, config: app.config, secretBox: app.secretBox, log: app.log },
      { retries: 0 },
    );
    fake.failNext('GET', `/repos/${r.repo.data.full_name}/actions/runs/${runs[2]!.id}/jobs`, 502);
    const failure = await backfillRuns(
      { db: app.db, github: noRetries, limit: 10 },
      r.connection.id,
    ).then(
      () => null,
      (err: unknown) => err,
    );
    t.match(failure, { status: 502 }, 'the failure carries GitHub’s answer');
    t.equal((await r.runRows()).length, 6, 'the runs were stored before the jobs were asked for');
    const partial = (await r.jobRows()).length;
    t.ok(partial < 6, `jobs of the failed request are missing for now (${partial} of 6)`);

    t.same(await backfillRuns({ db: app.db, github: noRetries, limit: 10 }, r.connection.id), {
      runs: 6,
      jobs: 6,
      skipped: false,
    });
    t.equal((await r.runRows()).length, 6);
    t.equal((await r.jobRows()).length, 6, 'the retry completed the jobs, without copies');
  });

  await t.test('shutdown stops a backfill and keeps it for later', async (t) => {
    const r = await repository();
    const runs = Array.from({ length: 12 }, () => r.addRun());
    for (const run of runs) fake.addJob(run.id, { name: 'build' });
    const process = createProcessors(app)['backfill-runs']!;
    const closing = new AbortController();
    const jobsAsked = () =>
      fake.requests.filter((q) => /\/actions\/runs\/\d+\/jobs$/.test(q.pathname)).length;
    const before = jobsAsked();
    // The queue closes while the second jobs request is on its way.
    const record = fake.requests.push.bind(fake.requests);
    fake.requests.push = (...entries) => {
      const n = record(...entries);
      if (jobsAsked() - before === 2) closing.abort();
      return n;
    };
    t.teardown(() => {
      fake.requests.push = record;
    });
    const stopped = await process(
      { connectionId: r.connection.id },
      { jobId: 'backfill-closing', attempt: 1, log: app.log, signal: closing.signal },
    ).then(
      () => null,
      (err: unknown) => err,
    );
    t.type(stopped, RetryLaterError, 'postponed, not failed: no attempt is spent');
    t.match((stopped as Error).message, /interrupted by shutdown/);
    t.ok(jobsAsked() - before < runs.length, 'it stopped asking for jobs');
    t.equal((await r.runRows()).length, 12, 'what was written stays');
    t.ok((await r.jobRows()).length < 12);

    fake.requests.push = record;
    t.same(await backfillRuns(deps(20), r.connection.id), { runs: 12, jobs: 12, skipped: false });
    t.equal((await r.jobRows()).length, 12, 'the retry completes it');
  });

  t.same(fake.violations, [], 'every request matched GitHub’s OpenAPI description');
});
