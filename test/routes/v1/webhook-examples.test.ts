// Replays every workflow_run and workflow_job payload shipped by @octokit/webhooks-examples,
// signed, through the real route, and checks the rows: field by field for one run and one
// job, and for all of them that the stored state is the same whatever order (forward,
// reverse, all at once) the deliveries arrive in.
import { and, eq } from 'drizzle-orm';
import t from 'tap';
import { webhookDeliveries, workflowJobs, workflowRuns } from '../../../src/db/schema/index.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';

type Payload = Record<string, unknown> & { repository: { id: number; full_name: string } };

const runExamples = loadWebhookExamples('workflow_run').map((e) => ({
  event: 'workflow_run',
  payload: e.payload as unknown as Payload,
}));
const jobExamples = loadWebhookExamples('workflow_job').map((e) => ({
  event: 'workflow_job',
  payload: e.payload as unknown as Payload,
}));
const all = [...runExamples, ...jobExamples];
const repos = new Map(all.map((e) => [e.payload.repository.id, e.payload.repository.full_name]));

t.test('every example payload, in any order, ends in the same rows', async (t) => {
  const { app } = await buildTestApp(t);

  async function replay(login: string, order: 'forward' | 'reverse' | 'concurrent') {
    const { user } = await createUserWithToken(app, { login });
    const hooks = new Map<number, { url: string; secret: string; id: string }>();
    for (const [repoId, fullName] of repos) {
      const { connection, secret } = await seedConnection(app, user.id, {
        githubRepoId: repoId,
        fullName,
      });
      hooks.set(repoId, {
        url: `/api/v1/webhook/github/${connection.id}`,
        secret,
        id: connection.id,
      });
    }
    const send = (e: (typeof all)[number]) => {
      const hook = hooks.get(e.payload.repository.id)!;
      return deliver(app, {
        url: hook.url,
        secret: hook.secret,
        event: e.event,
        payload: e.payload,
      });
    };
    const list = order === 'reverse' ? [...all].reverse() : all;
    const responses =
      order === 'concurrent'
        ? await Promise.all(list.map(send))
        : await list.reduce(
            async (acc, e) => [...(await acc), await send(e)],
            Promise.resolve([] as Awaited<ReturnType<typeof send>>[]),
          );
    for (const { response } of responses) {
      t.equal(response.statusCode, 200);
      t.same(response.json(), { outcome: 'processed' });
    }
    const runs = await app.db.select().from(workflowRuns).where(eq(workflowRuns.userId, user.id));
    const connectionIds = [...hooks.values()].map((h) => h.id);
    const jobs = (await app.db.select().from(workflowJobs)).filter((j) =>
      connectionIds.includes(j.connectionId),
    );
    const repoOf = new Map([...hooks].map(([repoId, h]) => [h.id, repoId]));
    const strip = <T extends { connectionId: string }>(row: T): Record<string, unknown> => {
      const {
        id: _i,
        createdAt: _c,
        updatedAt: _u,
        userId: _w,
        runId: _r,
        ...rest
      } = row as unknown as Record<string, unknown>;
      return { ...rest, connectionId: repoOf.get(row.connectionId) };
    };
    const key = (r: Record<string, unknown>) =>
      `${String(r['connectionId'])}:${String(r['githubRunId'] ?? r['githubJobId'])}`;
    return {
      user,
      hooks,
      runs: runs.map(strip).sort((a, b) => key(a).localeCompare(key(b))),
      jobs: jobs.map(strip).sort((a, b) => key(a).localeCompare(key(b))),
      rawRuns: runs,
      rawJobs: jobs,
    };
  }

  const forward = await replay('examples-forward', 'forward');
  const reverse = await replay('examples-reverse', 'reverse');
  const concurrent = await replay('examples-concurrent', 'concurrent');

  t.equal(
    forward.runs.length,
    new Set(
      all.map((e) => {
        const id =
          e.event === 'workflow_run'
            ? (e.payload['workflow_run'] as { id: number }).id
            : (e.payload['workflow_job'] as { run_id: number }).run_id;
        return `${e.payload.repository.id}:${id}`;
      }),
    ).size,
    'one run per (repository, run id), placeholders included',
  );
  t.equal(
    forward.jobs.length,
    new Set(
      jobExamples.map((e) => {
        return `${e.payload.repository.id}:${(e.payload['workflow_job'] as { id: number }).id}`;
      }),
    ).size,
  );
  t.same(reverse.runs, forward.runs, 'reverse order: same runs');
  t.same(reverse.jobs, forward.jobs, 'reverse order: same jobs');
  t.same(concurrent.runs, forward.runs, 'all at once: same runs');
  t.same(concurrent.jobs, forward.jobs, 'all at once: same jobs');

  // Every run / job example maps onto a stored row.
  for (const e of runExamples) {
    const run = e.payload['workflow_run'] as { id: number };
    t.ok(
      forward.runs.find(
        (r) => r['githubRunId'] === run.id && r['connectionId'] === e.payload.repository.id,
      ),
    );
  }
  for (const e of jobExamples) {
    const job = e.payload['workflow_job'] as { id: number };
    t.ok(
      forward.jobs.find(
        (j) => j['githubJobId'] === job.id && j['connectionId'] === e.payload.repository.id,
      ),
    );
  }

  // Field by field: the furthest snapshot of run 289782451 (completed/success, 16:33:49).
  const completed = runExamples.find(
    (e) => (e.payload['workflow_run'] as { conclusion: string | null }).conclusion === 'success',
  )!;
  const wr = completed.payload['workflow_run'] as Record<string, unknown> & {
    head_commit: { message: string };
    actor: { login: string };
  };
  const run = forward.rawRuns.find((r) => r.githubRunId === wr['id'])!;
  t.match(run, {
    githubRunId: wr['id'],
    runAttempt: wr['run_attempt'] ?? 1,
    runNumber: wr['run_number'],
    workflowId: wr['workflow_id'],
    workflowName: wr['name'],
    event: wr['event'],
    status: 'completed',
    conclusion: 'success',
    headBranch: wr['head_branch'],
    headSha: wr['head_sha'],
    commitMessage: wr.head_commit.message,
    actorLogin: wr.actor.login,
    htmlUrl: wr['html_url'],
    placeholder: false,
  });
  t.same(run.githubUpdatedAt, new Date(String(wr['updated_at'])));
  t.same(run.completedAt, new Date(String(wr['updated_at'])));
  t.equal(
    run.durationMs,
    new Date(String(wr['updated_at'])).getTime() -
      new Date(String(wr['run_started_at'] ?? wr['created_at'])).getTime(),
  );

  // The job that appears four times (queued, in progress, completed twice): completed, with
  // the most finished steps, and its failed steps named.
  const sameJob = jobExamples.filter(
    (e) => (e.payload['workflow_job'] as { id: number }).id === 289782451,
  );
  t.equal(sameJob.length, 4);
  const furthest = sameJob
    .map(
      (e) =>
        e.payload['workflow_job'] as {
          status: string;
          conclusion: string | null;
          steps: Array<{ name: string; status: string; conclusion: string | null }>;
        },
    )
    .filter((j) => j.status === 'completed')
    .sort((a, b) => b.steps.length - a.steps.length)[0]!;
  const job = forward.rawJobs.find((j) => j.githubJobId === 289782451)!;
  t.equal(job.status, 'completed');
  t.equal(job.conclusion, furthest.conclusion);
  t.equal(job.steps.length, furthest.steps.length);
  t.same(
    job.failedSteps,
    furthest.steps.filter((s) => s.conclusion === 'failure').map((s) => s.name),
  );
  const runOfJob = forward.rawRuns.find((r) => r.id === job.runId)!;
  t.equal(runOfJob.githubRunId, 2202229078);
  t.equal(runOfJob.placeholder, true, 'the run of a job seen before its run is a placeholder');
  t.equal(runOfJob.status, 'in_progress');

  // Every delivery is recorded, with its payload kept.
  const deliveries = await app.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.connectionId, forward.hooks.get(186853002)!.id)));
  t.equal(
    deliveries.length,
    jobExamples.filter((e) => e.payload.repository.id === 186853002).length,
  );
  for (const d of deliveries) {
    t.equal(d.outcome, 'processed');
    t.equal(d.event, 'workflow_job');
    t.ok(d.payloadText);
    t.type(d.durationMs, 'number');
  }
});
