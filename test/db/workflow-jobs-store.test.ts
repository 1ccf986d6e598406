import { eq } from 'drizzle-orm';
import t from 'tap';
import { workflowJobs } from '../../src/db/schema/index.ts';
import { createWorkflowJobsStore } from '../../src/db/stores/workflow-jobs-store.ts';
import { recordRun, seedConnection } from '../services/incidents/seed.ts';
import { testDatabase } from '../helper.ts';

t.test('currentAttemptJobs: each run its current attempt, started first', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const first = await recordRun(db, connection, {
    conclusion: 'failure',
    jobs: [{ name: 'old', conclusion: 'failure' }],
  });
  const { run, jobs } = await recordRun(db, connection, {
    githubRunId: first.run.githubRunId,
    runAttempt: 2,
    conclusion: 'success',
    jobs: [
      { name: 'not started', conclusion: null },
      { name: 'late', conclusion: 'success' },
      { name: 'early', conclusion: 'success' },
    ],
  });
  const started = {
    'not started': null,
    late: '2026-01-01T10:05:00Z',
    early: '2026-01-01T10:00:00Z',
  };
  for (const job of jobs.filter((j) => j.runAttempt === 2)) {
    const at = started[job.name as keyof typeof started];
    await db
      .update(workflowJobs)
      .set({ startedAt: at === null ? null : new Date(at) })
      .where(eq(workflowJobs.id, job.id));
  }
  const other = await recordRun(db, connection, { conclusion: 'success' });

  const byRun = await createWorkflowJobsStore(db).currentAttemptJobs([run, other.run]);
  t.same(
    byRun.get(run.id)!.map((j) => j.name),
    ['early', 'late', 'not started'],
  );
  t.same(byRun.get(other.run.id), [], 'a run without jobs gets an empty list');
  t.same(await createWorkflowJobsStore(db).currentAttemptJobs([]), new Map());
});
