// The analyse-incident job against the fake GitHub: logs through the 302 redirect, the run
// archive fallback, jobs fetched from GitHub when their events never came, merging several
// failed jobs, GitHub failures mapped to queue decisions, idempotent re-runs, the automatic
// re-run of infrastructure failures (once per run), and ignored incidents.
import { and, asc, eq } from 'drizzle-orm';
import t from 'tap';
import type { Db } from '../../src/db/client.ts';
import { incidentEvents, incidents } from '../../src/db/schema/index.ts';
import { createAnalyseIncidentProcessor } from '../../src/jobs/analyse-incident.ts';
import { createInProcessQueue } from '../../src/jobs/in-process-queue.ts';
import {
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  type JobContext,
} from '../../src/jobs/types.ts';
import { changeIncidentStatus } from '../../src/services/incidents/change-status.ts';
import { testDatabase } from '../helper.ts';
import {
  connectFixture,
  failingRun,
  githubFixture,
  type GitHubFixture,
} from '../services/incidents/github-fixture.ts';
import { ESLINT_LOG, JEST_LOG, RUNNER_LOST_LOG } from '../services/incidents/logs.ts';

const silent = { info() {}, warn() {}, error() {} };
const ctx = (jobId: string, attempt = 1): JobContext => ({
  jobId,
  attempt,
  log: silent,
  signal: new AbortController().signal,
});

async function reload(db: Db, id: string) {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  return row!;
}
async function events(db: Db, id: string, kind?: string) {
  const rows = await db
    .select()
    .from(incidentEvents)
    .where(
      kind
        ? and(eq(incidentEvents.incidentId, id), eq(incidentEvents.kind, kind))
        : eq(incidentEvents.incidentId, id),
    )
    .orderBy(asc(incidentEvents.createdAt));
  return rows;
}

function processorFor(db: Db, fx: GitHubFixture) {
  return createAnalyseIncidentProcessor({ db, github: fx.github, log: silent });
}

t.test('a failed job log is analysed and stored; running again duplicates nothing', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey, jobIds } = await failingRun(db, fx, connection, [
    { name: 'test', conclusion: 'failure', log: JEST_LOG },
  ]);
  const process = processorFor(db, fx);
  await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));

  const analysed = await reload(db, incident.id);
  t.equal(analysed.analysisStatus, 'done');
  t.equal(analysed.failureType, 'test');
  t.equal(
    analysed.firstError,
    'sum › adds numbers: expect(received).toBe(expected) // Object.is equality',
  );
  t.same(analysed.references, [{ file: 'src/sum.test.ts', line: 4, column: 21 }]);
  t.match(analysed.summary, /tests failed/);
  t.match(analysed.logExcerpt, /Expected: 3/);
  t.notMatch(analysed.logExcerpt, /npm_abcdef/, 'token-shaped strings are scrubbed');
  t.ok(analysed.analysedAt instanceof Date);
  const first = await events(db, incident.id, 'analysed');
  t.equal(first.length, 1);
  t.match(first[0]!.data, {
    jobKey,
    failureType: 'test',
    leadJob: 'test',
    leadGithubJobId: jobIds[0],
  });

  const logCalls = fx.fake.requests.filter((r) => r.pathname.endsWith('/logs'));
  t.equal(logCalls.length, 1);
  t.equal(logCalls[0]!.status, 302, 'GitHub redirects to storage');
  const blob = fx.fake.requests.find((r) => r.server === 'blobs');
  t.ok(blob, 'the log came from the storage origin');
  t.equal(blob!.headers['authorization'], undefined, 'our token is not sent to storage');
  t.same(fx.fake.violations, []);

  // A retry of the same job (stalled, redelivered) overwrites and updates in place.
  await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey, 2));
  const again = await events(db, incident.id, 'analysed');
  t.equal(again.length, 1, 'one analysed event per job id');
  t.equal(again[0]!.id, first[0]!.id);
});

t.test('several failed jobs: the first with an error leads, the rest are summed up', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(db, fx, connection, [
    { name: 'lint', conclusion: 'failure', log: ESLINT_LOG, failedStep: 'Run npm run lint' },
    { name: 'test', conclusion: 'failure', log: JEST_LOG },
    { name: 'docs', conclusion: 'success', log: 'ok\n' },
  ]);
  await processorFor(db, fx)({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));
  const analysed = await reload(db, incident.id);
  t.equal(analysed.failureType, 'lint');
  t.match(analysed.firstError, /'unused' is assigned a value but never used/);
  t.match(analysed.summary, /Another job also failed: "test" \(test: sum › adds numbers/);
  t.same(
    analysed.references.map((r) => r.file),
    ['src/index.ts', 'src/sum.test.ts'],
    'references merged, the lead first',
  );
});

t.test('falls back to the run log archive when the job log is refused', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(db, fx, connection, [
    { name: 'unit / node 20', conclusion: 'failure', log: JEST_LOG },
  ]);
  fx.fake.failNext('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}/logs', 404);
  await processorFor(db, fx)({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));
  const analysed = await reload(db, incident.id);
  t.equal(analysed.failureType, 'test', 'the job file was found in the zip (name with a slash)');
  t.ok(fx.fake.requests.some((r) => /\/actions\/runs\/\d+\/logs$/.test(r.pathname)));
});

t.test('jobs whose events never arrived are listed from GitHub', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(
    db,
    fx,
    connection,
    [
      { name: 'test', conclusion: 'failure', log: JEST_LOG },
      { name: 'lint', conclusion: 'success', log: 'fine\n' },
    ],
    { recordJobs: false },
  );
  await processorFor(db, fx)({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));
  const analysed = await reload(db, incident.id);
  t.equal(analysed.failureType, 'test');
  t.ok(fx.fake.requests.some((r) => /\/attempts\/1\/jobs$/.test(r.pathname)));
});

t.test('logs that never come: retried while fresh, then an honest "unknown"', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(db, fx, connection, [
    { name: 'test', conclusion: 'failure' },
  ]);
  const process = processorFor(db, fx);
  await t.rejects(
    process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey)),
    { name: 'LogsNotReadyError' },
    'a fresh run: try again later',
  );
  let row = await reload(db, incident.id);
  t.equal(row.analysisStatus, 'pending');
  t.match(row.analysisError, /does not serve the logs/);
  await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey, JOB_POLICY.attempts));
  row = await reload(db, incident.id);
  t.equal(row.analysisStatus, 'done');
  t.equal(row.failureType, 'unknown');
  t.match(row.summary, /could not be read/);
  t.equal(row.analysisError, null);

  t.test('a startup failure has no jobs and needs no logs', async (t) => {
    const started = await failingRun(db, fx, connection, [], { conclusion: 'startup_failure' });
    await process({ incidentId: started.incident.id, reason: 'opened' }, ctx(started.jobKey));
    const analysed = await reload(db, started.incident.id);
    t.equal(analysed.failureType, 'configuration');
    t.match(analysed.summary, /failed to start/);
  });
});

t.test('GitHub failures become queue decisions', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const process = processorFor(db, fx);
  const logPath = '/repos/{owner}/{repo}/actions/jobs/{job_id}/logs';

  t.test(
    'rate limited: wait as retry-after says, no attempt spent, no failure recorded',
    async (t) => {
      const { incident, jobKey } = await failingRun(db, fx, connection, [
        { name: 'test', conclusion: 'failure', log: JEST_LOG },
      ]);
      fx.fake.rateLimitNext('GET', logPath, { retryAfterSeconds: 7 });
      const err = await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey)).catch(
        (e: unknown) => e,
      );
      t.ok(err instanceof RetryLaterError);
      t.equal((err as RetryLaterError).delayMs, 7000);
      t.match(await reload(db, incident.id), {
        analysisError: null,
        analysisStatus: 'pending', // waiting again, not shown as running meanwhile
      });
      fx.fake.rateLimitNext('GET', logPath, {
        kind: 'secondary',
        status: 429,
        retryAfterSeconds: 3,
      });
      const secondary = await process(
        { incidentId: incident.id, reason: 'opened' },
        ctx(jobKey),
      ).catch((e: unknown) => e);
      t.equal((secondary as RetryLaterError).delayMs, 3000);
    },
  );

  t.test('4xx: unrecoverable, and the incident says why', async (t) => {
    const { incident, jobKey } = await failingRun(db, fx, connection, [
      { name: 'test', conclusion: 'failure', log: JEST_LOG },
    ]);
    fx.fake.failNext('GET', logPath, 401, { message: 'Bad credentials' });
    const err = await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey)).catch(
      (e: unknown) => e,
    );
    t.ok(err instanceof UnrecoverableJobError);
    t.match((err as Error).message, /GitHub answered 401: Bad credentials/);
    const row = await reload(db, incident.id);
    t.equal(row.analysisStatus, 'failed');
    t.match(row.analysisError, /401/);
    t.equal((await events(db, incident.id, 'analysis_failed')).length, 1);
  });

  t.test('5xx: retried with backoff; only the last attempt marks it failed', async (t) => {
    const { incident, jobKey } = await failingRun(db, fx, connection, [
      { name: 'test', conclusion: 'failure', log: JEST_LOG },
    ]);
    fx.fake.failNext('GET', logPath, 502, undefined, { times: 2 });
    const err = await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey)).catch(
      (e: unknown) => e,
    );
    t.notOk(err instanceof UnrecoverableJobError || err instanceof RetryLaterError);
    t.equal((await reload(db, incident.id)).analysisStatus, 'pending');
    await t.rejects(
      process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey, JOB_POLICY.attempts)),
    );
    t.equal((await reload(db, incident.id)).analysisStatus, 'failed');
    await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey, 1));
    const row = await reload(db, incident.id);
    t.equal(row.analysisStatus, 'done', 'a later success clears the failure');
    t.equal(row.analysisError, null);
  });
});

t.test('shutdown stops an analysis before it stores anything; it runs again soon', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);

  // A GitHub client whose requests record the signal they carry and begin the shutdown:
  // while the request is on its way, or once it has answered.
  function stoppingProcessor(closing: AbortController, when: 'during' | 'after') {
    const signals: Array<AbortSignal | undefined> = [];
    const process = createAnalyseIncidentProcessor({
      db,
      log: silent,
      github: {
        forUser: async (userId) => {
          const octokit = await fx.github.forUser(userId);
          const request = (async (
            route: string,
            options?: { request?: { signal?: AbortSignal } },
          ) => {
            signals.push(options?.request?.signal);
            if (when === 'during') closing.abort();
            const response = await octokit.request(route, options);
            if (when === 'after') closing.abort();
            return response;
          }) as unknown as typeof octokit.request;
          return { request };
        },
      },
    });
    return { process, signals };
  }

  for (const when of ['during', 'after'] as const) {
    await t.test(`shutdown ${when} the log download`, async (t) => {
      const { incident, jobKey } = await failingRun(db, fx, connection, [
        { name: 'test', conclusion: 'failure', log: JEST_LOG },
      ]);
      // Both runs fail the same way: one incident, whose events the first case left.
      const analysedBefore = (await events(db, incident.id, 'analysed')).length;
      const closing = new AbortController();
      const { process, signals } = stoppingProcessor(closing, when);
      const err = await process(
        { incidentId: incident.id, reason: 'opened' },
        { ...ctx(jobKey), signal: closing.signal },
      ).catch((e: unknown) => e);
      t.ok(err instanceof RetryLaterError, 'kept for later without spending an attempt');
      t.equal((err as RetryLaterError).delayMs, 5000);
      t.match((err as Error).message, /analysis interrupted by shutdown/);
      t.equal(signals[0], closing.signal, "the GitHub request carried the job's signal");
      if (when === 'during') t.equal(signals.length, 1, 'nothing more was asked of GitHub');
      t.equal((await events(db, incident.id, 'analysed')).length, analysedBefore, 'nothing stored');
      t.equal((await events(db, incident.id, 'analysis_failed')).length, 0, 'not a failure');
      t.match(await reload(db, incident.id), { analysisError: null, analysisStatus: 'pending' });

      // After the restart, the same job runs to the end.
      await processorFor(db, fx)({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));
      t.equal((await reload(db, incident.id)).analysisStatus, 'done');
      t.equal((await events(db, incident.id, 'analysed')).length, analysedBefore + 1);
    });
  }
});

t.test('a job killed mid-analysis is retried and duplicates nothing', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(db, fx, connection, [
    { name: 'a', conclusion: 'failure', log: JEST_LOG },
    { name: 'b', conclusion: 'failure', log: ESLINT_LOG },
  ]);
  // The second log download dies (connection reset mid-job) on the first attempt only.
  fx.fake.failNext('GET', /\/actions\/jobs\/\d+\/logs$/, 500, undefined, { times: 1 });
  let calls = 0;
  const real = processorFor(db, fx);
  const queue = createInProcessQueue(
    {
      'analyse-incident': async (data, c) => {
        calls++;
        await real(data, c);
      },
    },
    silent,
    { backoffMs: 10 },
  );
  t.teardown(() => queue.close());
  await queue.enqueue(
    'analyse-incident',
    { incidentId: incident.id, reason: 'opened' },
    { jobId: jobKey },
  );
  await queue.idle();
  t.equal(calls, 2, 'one failed attempt, one retry');
  const row = await reload(db, incident.id);
  t.equal(row.analysisStatus, 'done');
  t.equal(row.failureType, 'test');
  t.same(
    (await events(db, incident.id)).map((e) => e.kind),
    ['opened', 'analysed'],
  );
});

t.test('infrastructure failures are re-run once when the repository allows it', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const process = processorFor(db, fx);

  const off = await connectFixture(db, fx);
  const noRerun = await failingRun(db, fx, off, [
    { name: 'test', conclusion: 'failure', log: RUNNER_LOST_LOG },
  ]);
  await process({ incidentId: noRerun.incident.id, reason: 'opened' }, ctx(noRerun.jobKey));
  t.equal((await reload(db, noRerun.incident.id)).failureType, 'infrastructure');
  t.equal(fx.fake.counters.reruns, 0, 'the setting is off by default');
  await db.delete(incidents).where(eq(incidents.connectionId, off.id));

  const on = await connectFixture(db, fx, { autoRerunInfrastructure: true });
  t.teardown(() => undefined);
  const { incident, jobKey, githubRunId } = await failingRun(db, fx, on, [
    { name: 'test', conclusion: 'failure', log: RUNNER_LOST_LOG },
  ]);
  await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey));
  t.equal(fx.fake.counters.reruns, 1);
  t.match(fx.fake.state.reruns.at(-1), { runId: githubRunId, failedJobsOnly: true });
  const [rerun] = await events(db, incident.id, 'rerun');
  t.match(rerun!.data, { githubRunId, status: 'requested' });

  // The same job again, a manual analysis: never a second re-run of that run.
  await process({ incidentId: incident.id, reason: 'opened' }, ctx(jobKey, 2));
  await process({ incidentId: incident.id, reason: 'manual' }, ctx(`${jobKey}-manual`));
  t.equal(fx.fake.counters.reruns, 1);
  t.equal((await events(db, incident.id, 'rerun')).length, 1);

  t.test('a refused re-run is recorded, not retried', async (t) => {
    const second = await failingRun(db, fx, on, [
      { name: 'other', conclusion: 'failure', log: RUNNER_LOST_LOG },
    ]);
    fx.fake.failNext('POST', '/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs', 403, {
      message: 'Resource not accessible by integration',
    });
    await process({ incidentId: second.incident.id, reason: 'opened' }, ctx(second.jobKey));
    const [event] = await events(db, second.incident.id, 'rerun');
    t.match(event!.data, { status: 'failed', error: /Resource not accessible/ });
    t.equal((await reload(db, second.incident.id)).analysisStatus, 'done');
    await process({ incidentId: second.incident.id, reason: 'opened' }, ctx(second.jobKey, 2));
    t.equal(fx.fake.counters.reruns, 1);
  });
});

t.test('ignored incidents are analysed only on request; missing ones are skipped', async (t) => {
  const { db } = await testDatabase();
  const fx = await githubFixture(t);
  const connection = await connectFixture(db, fx);
  const { incident, jobKey } = await failingRun(db, fx, connection, [
    { name: 'test', conclusion: 'failure', log: JEST_LOG },
  ]);
  await changeIncidentStatus(db, {
    userId: connection.userId,
    actor: 'octocat',
    incidentId: incident.id,
    status: 'ignored',
  });
  const process = processorFor(db, fx);
  await process({ incidentId: incident.id, reason: 'occurrence' }, ctx(jobKey));
  t.equal((await reload(db, incident.id)).analysisStatus, 'pending');
  t.equal(fx.fake.requests.filter((r) => r.pathname.endsWith('/logs')).length, 0);
  await process({ incidentId: incident.id, reason: 'manual' }, ctx(`${jobKey}-m`));
  t.equal((await reload(db, incident.id)).failureType, 'test');
  await process(
    { incidentId: '00000000-0000-4000-8000-000000000000', reason: 'opened' },
    ctx('analyse-gone-1'),
  );
  t.pass('a deleted incident is not an error');
});
