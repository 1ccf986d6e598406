// The incident lifecycle as ingestion drives it: open, occurrences, idempotency, green-run
// resolution, reopening, severity, ignored incidents, late job events, watched branches.
import { asc, eq } from 'drizzle-orm';
import t from 'tap';
import {
  incidentEvents,
  incidentOccurrences,
  incidents,
  outbox,
} from '../../../src/db/schema/index.ts';
import type { Db } from '../../../src/db/client.ts';
import { changeIncidentStatus } from '../../../src/services/incidents/change-status.ts';
import { incidentFingerprint } from '../../../src/services/incidents/fingerprint.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { severityFor } from '../../../src/services/incidents/severity.ts';
import { testDatabase } from '../../helper.ts';
import { deliver, recordRun, seedConnection } from './seed.ts';

const HOUR = 3600_000;

async function incidentsOf(db: Db, connectionId: string) {
  return db
    .select()
    .from(incidents)
    .where(eq(incidents.connectionId, connectionId))
    .orderBy(asc(incidents.openedAt));
}
async function eventsOf(db: Db, incidentId: string) {
  return db
    .select()
    .from(incidentEvents)
    .where(eq(incidentEvents.incidentId, incidentId))
    .orderBy(asc(incidentEvents.createdAt));
}
async function outboxFor(db: Db, incidentId: string) {
  const rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  return rows.filter((r) => (r.payload as { incidentId?: string }).incidentId === incidentId);
}

t.test('a failing run opens one incident, analysed through the outbox', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const notified: number[] = [];
  const hook = createIncidentHook({ notify: () => notified.push(1) });
  const failing = await recordRun(db, connection, {
    conclusion: 'failure',
    jobs: [
      { name: 'test', conclusion: 'failure', failedSteps: ['Run npm test'] },
      { name: 'lint', conclusion: 'success' },
      { name: 'e2e', conclusion: 'cancelled' },
    ],
  });
  await deliver(db, hook, connection, failing);

  const [incident, ...more] = await incidentsOf(db, connection.id);
  t.equal(more.length, 0);
  t.equal(incident!.status, 'open');
  t.same(incident!.failedJobs, ['test'], 'cancelled and passing jobs are not failures');
  t.equal(incident!.severity, 'high', 'default branch starts high');
  t.equal(incident!.occurrences, 1);
  t.equal(incident!.title, 'CI / test failed on main');
  t.equal(incident!.analysisStatus, 'pending');
  t.equal(
    incident!.fingerprint,
    incidentFingerprint({
      repositoryId: connection.githubRepoId,
      workflow: 'id:77',
      branch: 'main',
      failedJobs: ['test'],
    }),
  );
  t.same(
    (await eventsOf(db, incident!.id)).map((e) => e.kind),
    ['opened'],
  );
  const rows = await outboxFor(db, incident!.id);
  t.equal(rows.length, 1);
  t.equal(rows[0]!.topic, 'analyse-incident');
  t.equal(rows[0]!.jobKey, `analyse-${incident!.id}-1`);
  t.notMatch(rows[0]!.jobKey, /:/, 'BullMQ forbids ":" in job ids');
  t.same(rows[0]!.payload, { incidentId: incident!.id, reason: 'opened' });
  t.equal(notified.length, 1, 'the dispatcher doorbell rang');

  t.test('the same run delivered again changes nothing', async (t) => {
    await deliver(db, hook, connection, failing);
    await deliver(db, hook, connection, failing);
    const [again] = await incidentsOf(db, connection.id);
    t.equal(again!.occurrences, 1);
    const occurrences = await db
      .select()
      .from(incidentOccurrences)
      .where(eq(incidentOccurrences.incidentId, incident!.id));
    t.equal(occurrences.length, 1);
    t.equal((await outboxFor(db, incident!.id)).length, 1);
    t.equal((await eventsOf(db, incident!.id)).length, 1);
  });
});

t.test('the same fingerprint twice: one incident, two occurrences', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const base = Date.now() - 2 * HOUR;
  for (const [i, sha] of ['a1', 'b2'].entries()) {
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        headSha: sha.padEnd(40, '0'),
        startedAt: new Date(base + i * 600_000),
        jobs: [
          { name: 'build', conclusion: 'failure' },
          { name: 'test', conclusion: 'timed_out' },
        ],
      }),
    );
  }
  const list = await incidentsOf(db, connection.id);
  t.equal(list.length, 1);
  const incident = list[0]!;
  t.equal(incident.occurrences, 2);
  t.same(incident.failedJobs, ['build', 'test'], 'sorted; timed_out jobs count as failed');
  const occurrences = await db
    .select()
    .from(incidentOccurrences)
    .where(eq(incidentOccurrences.incidentId, incident.id));
  t.equal(occurrences.length, 2);
  t.same(
    (await eventsOf(db, incident.id)).map((e) => e.kind),
    ['opened', 'occurrence'],
  );
  t.same(
    (await outboxFor(db, incident.id)).map((r) => r.jobKey),
    [`analyse-${incident.id}-1`, `analyse-${incident.id}-2`],
    'a re-failure is analysed again',
  );

  t.test('a different set of failed jobs is a different incident', async (t) => {
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        jobs: [{ name: 'build', conclusion: 'failure' }],
      }),
    );
    t.equal((await incidentsOf(db, connection.id)).length, 2);
  });
});

t.test('cancelled, skipped and unfinished runs raise nothing', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  for (const conclusion of ['cancelled', 'skipped', 'neutral']) {
    await deliver(db, hook, connection, await recordRun(db, connection, { conclusion }));
  }
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { status: 'in_progress', conclusion: null }),
  );
  t.equal((await incidentsOf(db, connection.id)).length, 0);
});

t.test('a green run resolves; an older green run does not', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const t0 = Date.now() - 3 * HOUR;
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'failure',
      startedAt: new Date(t0),
      jobs: [{ name: 'test', conclusion: 'failure' }],
    }),
  );
  // An older success delivered late, another branch, another workflow: none of them resolve.
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { conclusion: 'success', startedAt: new Date(t0 - HOUR) }),
  );
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'success',
      branch: 'feature',
      startedAt: new Date(t0 + 60_000),
    }),
  );
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'success',
      workflowId: 78,
      startedAt: new Date(t0 + 60_000),
    }),
  );
  t.equal((await incidentsOf(db, connection.id))[0]!.status, 'open');

  const green = await recordRun(db, connection, {
    conclusion: 'success',
    runNumber: 42,
    startedAt: new Date(t0 + 600_000),
  });
  await deliver(db, hook, connection, green);
  const [resolved] = await incidentsOf(db, connection.id);
  t.equal(resolved!.status, 'resolved');
  t.equal(resolved!.resolvedBy, 'green_run');
  t.same(resolved!.resolvedAt, green.run.completedAt);
  const events = await eventsOf(db, resolved!.id);
  t.same(
    events.map((e) => e.kind),
    ['opened', 'resolved'],
  );
  t.equal(events[1]!.note, 'Run #42 passed.');

  t.test('a new failure soon after reopens it', async (t) => {
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        startedAt: new Date(t0 + 900_000),
        jobs: [{ name: 'test', conclusion: 'failure' }],
      }),
    );
    const [reopened, ...others] = await incidentsOf(db, connection.id);
    t.equal(others.length, 0);
    t.equal(reopened!.status, 'open');
    t.equal(reopened!.resolvedAt, null);
    t.equal(reopened!.resolvedBy, null);
    t.equal(reopened!.occurrences, 2);
    t.same(
      (await eventsOf(db, reopened!.id)).map((e) => e.kind),
      ['opened', 'resolved', 'reopened'],
    );
    const keys = (await outboxFor(db, reopened!.id)).map((r) => r.jobKey);
    t.same(keys, [`analyse-${reopened!.id}-1`, `analyse-${reopened!.id}-2`]);
  });

  t.test('an old failure delivered after the resolution does not reopen', async (t) => {
    const again = await recordRun(db, connection, {
      conclusion: 'success',
      startedAt: new Date(t0 + 1_200_000),
    });
    await deliver(db, hook, connection, again);
    t.equal((await incidentsOf(db, connection.id))[0]!.status, 'resolved');
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        startedAt: new Date(t0 + 300_000),
        jobs: [{ name: 'test', conclusion: 'failure' }],
      }),
    );
    const [incident] = await incidentsOf(db, connection.id);
    t.equal(incident!.status, 'resolved');
    t.equal(incident!.occurrences, 3);
    t.equal((await outboxFor(db, incident!.id)).length, 2, 'no analysis of an old run');
  });
});

t.test('a failure long after the resolution is a new incident', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {}, reopenWindowMs: HOUR });
  const t0 = Date.now() - 10 * HOUR;
  const fail = (startedAt: number) =>
    recordRun(db, connection, {
      conclusion: 'failure',
      startedAt: new Date(startedAt),
      jobs: [{ name: 'test', conclusion: 'failure' }],
    });
  await deliver(db, hook, connection, await fail(t0));
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { conclusion: 'success', startedAt: new Date(t0 + HOUR) }),
  );
  await deliver(db, hook, connection, await fail(t0 + 5 * HOUR));
  const list = await incidentsOf(db, connection.id);
  t.same(
    list.map((i) => i.status),
    ['resolved', 'open'],
  );
});

t.test('a re-run attempt that passes resolves; the failed job is flaky', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const t0 = Date.now() - HOUR;
  const first = await recordRun(db, connection, {
    githubRunId: 555_001,
    conclusion: 'failure',
    startedAt: new Date(t0),
    headSha: 'f'.repeat(40),
    jobs: [{ name: 'test', conclusion: 'failure' }],
  });
  await deliver(db, hook, connection, first);
  const second = await recordRun(db, connection, {
    githubRunId: 555_001,
    runAttempt: 2,
    conclusion: 'success',
    startedAt: new Date(t0 + 600_000),
    headSha: 'f'.repeat(40),
    jobs: [{ name: 'test', conclusion: 'success' }],
  });
  await deliver(db, hook, connection, second);
  const [incident] = await incidentsOf(db, connection.id);
  t.equal(incident!.status, 'resolved');
  t.equal(incident!.flaky, true);
  t.equal(incident!.severity, 'medium', 'flaky drops a level');
  const events = await eventsOf(db, incident!.id);
  t.same(
    events.map((e) => e.kind),
    ['opened', 'flaky', 'marked_flaky', 'resolved'],
  );
  t.match(events[1]!.data, { job: 'test', failedRunAttempt: 1, passedRunAttempt: 2 });
  t.equal(events[3]!.note, 'Re-run attempt 2 passed.');

  await deliver(db, hook, connection, second);
  t.equal((await eventsOf(db, incident!.id)).length, 4, 'redelivery adds nothing');
});

t.test('only when every failed job passed on a re-run is the incident flaky', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const t0 = Date.now() - HOUR;
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      githubRunId: 556_001,
      conclusion: 'failure',
      startedAt: new Date(t0),
      jobs: [
        { name: 'a', conclusion: 'failure' },
        { name: 'b', conclusion: 'failure' },
      ],
    }),
  );
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      githubRunId: 556_001,
      runAttempt: 2,
      conclusion: 'failure',
      startedAt: new Date(t0 + 600_000),
      jobs: [
        { name: 'a', conclusion: 'success' },
        { name: 'b', conclusion: 'failure' },
      ],
    }),
  );
  const list = await incidentsOf(db, connection.id);
  const ab = list.find((i) => i.failedJobs.length === 2)!;
  t.equal(ab.flaky, false, 'b still fails: not flaky');
  t.same(
    (await eventsOf(db, ab.id)).map((e) => e.kind),
    ['opened', 'flaky'],
  );
  t.equal(list.length, 2, 'attempt 2 failing on b alone is its own fingerprint');
});

t.test('severity rules', async (t) => {
  t.equal(severityFor({ onDefaultBranch: true, occurrences: 1, flaky: false }), 'high');
  t.equal(severityFor({ onDefaultBranch: true, occurrences: 3, flaky: false }), 'critical');
  t.equal(severityFor({ onDefaultBranch: false, occurrences: 1, flaky: false }), 'medium');
  t.equal(severityFor({ onDefaultBranch: false, occurrences: 3, flaky: false }), 'high');
  t.equal(severityFor({ onDefaultBranch: false, occurrences: 10, flaky: false }), 'critical');
  t.equal(severityFor({ onDefaultBranch: false, occurrences: 1, flaky: true }), 'low');
  t.equal(severityFor({ onDefaultBranch: false, occurrences: 0, flaky: true }), 'low');

  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  for (let i = 0; i < 3; i++) {
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        branch: 'feature/x',
        startedAt: new Date(Date.now() - (10 - i) * 60_000),
        jobs: [{ name: 'test', conclusion: 'failure' }],
      }),
    );
    const [incident] = await incidentsOf(db, connection.id);
    t.equal(incident!.severity, i < 2 ? 'medium' : 'high', `after ${i + 1} occurrence(s)`);
  }
});

t.test('ignored and acknowledged incidents', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db, { login: 'ignorer' });
  const hook = createIncidentHook({ notify: () => {} });
  const fail = async (offset: number, name: string) =>
    deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        startedAt: new Date(Date.now() - HOUR + offset),
        jobs: [{ name, conclusion: 'failure' }],
      }),
    );
  await fail(0, 'ignored-job');
  await fail(0, 'acked-job');
  const [ignored, acked] = await incidentsOf(db, connection.id);
  await changeIncidentStatus(db, {
    userId: connection.userId,
    actor: 'ignorer',
    incidentId: ignored!.id,
    status: 'ignored',
    note: 'known, tracked elsewhere',
  });
  await changeIncidentStatus(db, {
    userId: connection.userId,
    actor: 'ignorer',
    incidentId: acked!.id,
    status: 'acknowledged',
  });
  await fail(60_000, 'ignored-job');
  await fail(60_000, 'acked-job');
  const [i2, a2] = await incidentsOf(db, connection.id);
  t.equal(i2!.status, 'ignored');
  t.equal(i2!.occurrences, 2, 'ignored incidents keep counting');
  t.equal((await outboxFor(db, i2!.id)).length, 1, 'but are not analysed again');
  t.equal(a2!.status, 'acknowledged');
  t.equal((await outboxFor(db, a2!.id)).length, 2);

  // A green run resolves acknowledged incidents but leaves ignored ones alone.
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { conclusion: 'success', startedAt: new Date() }),
  );
  const [i3, a3] = await incidentsOf(db, connection.id);
  t.equal(i3!.status, 'ignored');
  t.equal(a3!.status, 'resolved');
});

t.test('failed jobs known only after the run: the incident takes them', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const early = await recordRun(db, connection, { githubRunId: 557_001, conclusion: 'failure' });
  await deliver(db, hook, connection, early);
  const [before] = await incidentsOf(db, connection.id);
  t.same(before!.failedJobs, []);
  const late = await recordRun(db, connection, {
    githubRunId: 557_001,
    conclusion: 'failure',
    jobs: [{ name: 'test', conclusion: 'failure' }],
  });
  await deliver(db, hook, connection, late);
  await deliver(db, hook, connection, late);
  const [after, ...others] = await incidentsOf(db, connection.id);
  t.equal(others.length, 0);
  t.same(after!.failedJobs, ['test']);
  t.equal(after!.occurrences, 1);
  t.equal(after!.title, 'CI / test failed on main');
  const keys = (await outboxFor(db, after!.id)).map((r) => r.jobKey);
  t.equal(keys.length, 2, 'analysed again, once, with the jobs known');
  t.match(keys[1], /^analyse-.*-jobs-[0-9a-f]{12}$/);
  t.same(
    (await eventsOf(db, after!.id)).map((e) => e.kind),
    ['opened', 'jobs_updated'],
  );

  t.test('and a later run with the same jobs adds an occurrence to it', async (t) => {
    await deliver(
      db,
      hook,
      connection,
      await recordRun(db, connection, {
        conclusion: 'failure',
        jobs: [{ name: 'test', conclusion: 'failure' }],
      }),
    );
    const list = await incidentsOf(db, connection.id);
    t.equal(list.length, 1);
    t.equal(list[0]!.occurrences, 2);
  });
});

t.test('startup failures, watched branches, runs without a workflow id', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db, { watchedBranches: ['main', 'release/*'] });
  const hook = createIncidentHook({ notify: () => {} });
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { conclusion: 'startup_failure' }),
  );
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, { conclusion: 'failure', branch: 'feature/ignored' }),
  );
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'failure',
      branch: 'release/1.2',
      workflowId: null,
      workflowName: 'Release',
    }),
  );
  const list = await incidentsOf(db, connection.id);
  t.same(list.map((i) => i.branch).sort(), ['main', 'release/1.2']);
  const release = list.find((i) => i.branch === 'release/1.2')!;
  t.equal(release.workflowId, null);
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'success',
      branch: 'release/1.2',
      workflowId: null,
      workflowName: 'Release',
      startedAt: new Date(Date.now() + 60_000),
    }),
  );
  t.equal(
    (await db.select().from(incidents).where(eq(incidents.id, release.id)))[0]!.status,
    'resolved',
  );
});

t.test('concurrent deliveries of one failing run open one incident', async (t) => {
  const { db } = await testDatabase();
  const connection = await seedConnection(db);
  const hook = createIncidentHook({ notify: () => {} });
  const failing = await recordRun(db, connection, {
    conclusion: 'failure',
    jobs: [{ name: 'test', conclusion: 'failure' }],
  });
  await Promise.all(Array.from({ length: 5 }, () => deliver(db, hook, connection, failing)));
  const list = await incidentsOf(db, connection.id);
  t.equal(list.length, 1);
  t.equal(list[0]!.occurrences, 1);
  t.equal((await outboxFor(db, list[0]!.id)).length, 1);
});
