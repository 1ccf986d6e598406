// With the in-process runner, queued jobs die with the process: analyses that had left the
// outbox but never finished are asked for again when the app starts.
import { eq, isNull } from 'drizzle-orm';
import t from 'tap';
import { incidents, outbox } from '../../../src/db/schema/index.ts';
import { createInProcessQueue } from '../../../src/jobs/in-process-queue.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { resumeInterruptedAnalyses } from '../../../src/services/incidents/resume-analyses.ts';
import { buildTestApp, testDatabase } from '../../helper.ts';
import { deliver, recordRun, seedConnection } from './seed.ts';

const silent = { info() {}, warn() {}, error() {} };

t.test('unfinished analyses are asked for again, once', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const ids: string[] = [];
  for (const name of ['crashed', 'ignored', 'done', 'waiting']) {
    const recorded = await recordRun(db, connection, {
      conclusion: 'failure',
      jobs: [{ name, conclusion: 'failure' }],
    });
    await deliver(db, hook, connection, recorded);
    const [row] = await db.select().from(incidents).where(eq(incidents.lastRunId, recorded.run.id));
    ids.push(row!.id);
  }
  const [crashed, ignored, done, waiting] = ids as [string, string, string, string];
  // Everything but "waiting" left the outbox (dispatched), then the process stopped.
  const rows = await db.select().from(outbox);
  for (const row of rows) {
    if ((row.payload as { incidentId: string }).incidentId !== waiting)
      await db.update(outbox).set({ dispatchedAt: new Date() }).where(eq(outbox.id, row.id));
  }
  await db.update(incidents).set({ analysisStatus: 'running' }).where(eq(incidents.id, crashed));
  await db.update(incidents).set({ status: 'ignored' }).where(eq(incidents.id, ignored));
  await db.update(incidents).set({ analysisStatus: 'done' }).where(eq(incidents.id, done));

  t.equal(await resumeInterruptedAnalyses(db), 1);
  const pending = await db.select().from(outbox).where(isNull(outbox.dispatchedAt));
  t.same(
    pending.map((r) => (r.payload as { incidentId: string }).incidentId).sort(),
    [crashed, waiting].sort(),
  );
  const resumed = pending.find(
    (r) => (r.payload as { incidentId: string }).incidentId === crashed,
  )!;
  t.equal(resumed.jobKey, `analyse-${crashed}-1-resumed`);
  t.same(resumed.payload, { incidentId: crashed, reason: 'resumed' });
  t.equal(await resumeInterruptedAnalyses(db), 0, 'not twice while the request waits');

  t.test('an app on the in-process runner does it when it starts', async (t) => {
    await db.update(outbox).set({ dispatchedAt: new Date() });
    const seen: string[] = [];
    const queue = createInProcessQueue(
      {
        'analyse-incident': async (data) => {
          seen.push(data.incidentId);
        },
      },
      silent,
    );
    t.teardown(() => queue.close());
    await buildTestApp(t, { deps: { queue } });
    await new Promise((r) => setTimeout(r, 300));
    await queue.idle();
    t.same(seen.sort(), [crashed, waiting].sort(), 'the interrupted analyses ran again');
  });
});
