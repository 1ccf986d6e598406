// Flaky jobs: a job that failed and then passed on the same commit (a re-run, or a later
// run of that commit) failed for reasons other than the code. Each such job gets a 'flaky'
// event on the incidents that counted its failure; an incident whose every failed job has
// proved flaky is marked flaky, loses a severity level, and is never offered a fix.
import type { WorkflowJob } from '../../db/stores/incidents-store.ts';
import type { Context } from './on-run-recorded.ts';
import { severityFor } from './severity.ts';

export async function markFlakyJobs(ctx: Context, passedJobs: WorkflowJob[]): Promise<void> {
  const { store, run, connection, tx } = ctx;
  const bySha = new Map<string, WorkflowJob[]>();
  for (const job of passedJobs) {
    const sha = job.headSha ?? run.headSha;
    if (sha) bySha.set(sha, [...(bySha.get(sha) ?? []), job]);
  }
  for (const [headSha, jobs] of bySha) {
    const failures = await store.countedFailuresOfJobs(
      {
        connectionId: connection.id,
        headSha,
        jobNames: [...new Set(jobs.map((j) => j.name))],
        workflowId: run.workflowId,
      },
      tx,
    );
    for (const job of jobs) {
      // Failed first, passed later: a failure that finished after this pass is not evidence.
      const earlier = failures.filter(
        (f) =>
          f.jobName === job.name &&
          (f.completedAt === null || job.completedAt === null || f.completedAt <= job.completedAt),
      );
      const byIncident = new Map<string, (typeof earlier)[number]>();
      for (const f of earlier) if (!byIncident.has(f.incidentId)) byIncident.set(f.incidentId, f);
      for (const [incidentId, failure] of byIncident) {
        await markIncident(ctx, incidentId, job, headSha, failure);
      }
    }
  }
}

async function markIncident(
  ctx: Context,
  incidentId: string,
  job: WorkflowJob,
  headSha: string,
  failure: { githubJobId: number; githubRunId: number; runAttempt: number },
): Promise<void> {
  const { store, connection, tx } = ctx;
  const incident = await store.lockById(incidentId, tx);
  if (!incident || !incident.failedJobs.includes(job.name)) return;
  if (await store.findEvent(incidentId, 'flaky', { job: job.name, headSha }, tx)) return;
  await store.addEvent(
    {
      incidentId,
      kind: 'flaky',
      note: `Job "${job.name}" failed and then passed on commit ${headSha.slice(0, 7)}.`,
      data: {
        job: job.name,
        headSha,
        failedGithubJobId: failure.githubJobId,
        failedGithubRunId: failure.githubRunId,
        failedRunAttempt: failure.runAttempt,
        passedGithubJobId: job.githubJobId,
        passedGithubRunId: job.githubRunId,
        passedRunAttempt: job.runAttempt,
      },
    },
    tx,
  );
  if (incident.flaky) return;
  for (const name of incident.failedJobs) {
    if (!(await store.findEvent(incidentId, 'flaky', { job: name }, tx))) return;
  }
  await store.update(
    incidentId,
    {
      flaky: true,
      severity: severityFor({
        onDefaultBranch: incident.branch === connection.defaultBranch,
        occurrences: incident.occurrences,
        flaky: true,
      }),
    },
    tx,
  );
  await store.addEvent(
    {
      incidentId,
      kind: 'marked_flaky',
      note: 'Every failed job passed on a re-run of the same commit: flaky, so no fix will be attempted.',
      data: { jobs: incident.failedJobs },
    },
    tx,
  );
}
