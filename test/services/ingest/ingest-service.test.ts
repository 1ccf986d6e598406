// The ingestion service with hooks plugged in (what incident logic builds on): what a hook
// receives, `changed` for repeated or older snapshots, one hook call per run per commit, a
// throwing hook failing only its own delivery within a group, and the secret cache
// (rotation grace period, reload after a rotation elsewhere).
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import t from 'tap';
import { secretContext } from '../../../src/crypto/encrypted-columns.ts';
import { webhookDeliveries, workflowRuns } from '../../../src/db/schema/index.ts';
import { createRepositoryConnectionsStore } from '../../../src/db/stores/repository-connections-store.ts';
import { createConnectionSecrets } from '../../../src/services/ingest/connection-secrets.ts';
import { createIngestService } from '../../../src/services/ingest/ingest-service.ts';
import type { RunRecordedEvent, VerifiedDelivery } from '../../../src/services/ingest/types.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { createUserWithToken } from '../../support/auth.ts';
import { loadWebhookExamples, signPayload } from '../../support/webhook-sender.ts';
import { seedConnection } from './ingest-fixtures.ts';

const REPO_ID = 8880001;

function delivery(
  connection: { id: string; userId: string; githubRepoId: number },
  event: string,
  payload: Record<string, unknown>,
): VerifiedDelivery {
  return {
    route: {
      kind: 'connection',
      connectionId: connection.id,
      userId: connection.userId,
      githubRepoId: connection.githubRepoId,
    },
    deliveryId: randomUUID(),
    event,
    payloadJson: JSON.stringify(payload),
    payload,
    startedAt: performance.now(),
    receivedAt: new Date(),
  };
}

function runEvent(id: number, over: Record<string, unknown> = {}) {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  return {
    ...base,
    repository: { id: REPO_ID, full_name: 'hooks/repo' },
    workflow_run: { ...(base['workflow_run'] as object), id, ...over },
  };
}

function jobEvent(id: number, runId: number, over: Record<string, unknown> = {}) {
  const base = loadWebhookExamples('workflow_job')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  return {
    ...base,
    repository: { id: REPO_ID, full_name: 'hooks/repo' },
    workflow_job: { ...(base['workflow_job'] as object), id, run_id: runId, ...over },
  };
}

t.test('hooks', async (t) => {
  const { app } = await buildTestApp(t);
  const { user } = await createUserWithToken(app, { login: 'hooks-owner' });
  const { connection } = await seedConnection(app, user.id, {
    githubRepoId: REPO_ID,
    fullName: 'hooks/repo',
  });
  const seen: RunRecordedEvent[] = [];
  let failFor: number | null = null;
  const ingest = createIngestService({
    db: app.db,
    secretBox: app.secretBox,
    log: app.log,
    concurrency: 1,
    hooks: [
      async (tx, event) => {
        t.ok(tx, 'hooks get the transaction');
        if (event.run.githubRunId === failFor) throw new Error('incident logic failed');
        seen.push(event);
      },
    ],
  });

  await t.test('a run, then its jobs', async (t) => {
    seen.length = 0;
    t.same(await ingest.record(delivery(connection, 'workflow_run', runEvent(111))), {
      outcome: 'processed',
    });
    t.equal(seen.length, 1);
    t.match(seen[0], {
      run: { githubRunId: 111, status: 'completed' },
      changed: true,
      events: ['workflow_run'],
      connection: { id: connection.id },
    });
    t.same(seen[0]!.jobs, []);
    await ingest.record(delivery(connection, 'workflow_job', jobEvent(211, 111)));
    t.equal(seen.length, 2);
    t.match(seen[1], { run: { githubRunId: 111 }, changed: true, events: ['workflow_job'] });
    t.same(
      seen[1]!.jobs.map((j) => j.githubJobId),
      [211],
    );
    // The same snapshot again (a new delivery id): hooks run, nothing changed.
    await ingest.record(delivery(connection, 'workflow_run', runEvent(111)));
    t.match(seen[2], { changed: false });
    // Non-workflow events call no hook.
    await ingest.record(delivery(connection, 'ping', { zen: 'z', hook_id: 1 }));
    t.equal(seen.length, 3);
  });

  await t.test('jobs of older attempts are not passed', async (t) => {
    seen.length = 0;
    await ingest.record(
      delivery(connection, 'workflow_job', jobEvent(311, 112, { run_attempt: 1 })),
    );
    await ingest.record(
      delivery(
        connection,
        'workflow_run',
        runEvent(112, { run_attempt: 2, status: 'in_progress', conclusion: null }),
      ),
    );
    await ingest.record(
      delivery(connection, 'workflow_job', jobEvent(312, 112, { run_attempt: 2 })),
    );
    const last = seen.at(-1)!;
    t.equal(last.run.runAttempt, 2);
    t.same(
      last.jobs.map((j) => j.githubJobId),
      [312],
    );
  });

  await t.test('a failing hook fails only its own delivery of a group', async (t) => {
    seen.length = 0;
    failFor = 120;
    const items = Array.from({ length: 12 }, (_, i) =>
      delivery(connection, 'workflow_run', runEvent(113 + i)),
    );
    const settled = await Promise.allSettled(items.map((d) => ingest.record(d)));
    const rejected = settled.flatMap((s, i) => (s.status === 'rejected' ? [113 + i] : []));
    t.same(rejected, [120]);
    // Hooks also ran in the group's rolled-back attempt: they must only write through `tx`.
    t.equal(new Set(seen.map((e) => e.run.githubRunId)).size, 11);
    const runs = await app.db
      .select()
      .from(workflowRuns)
      .where(eq(workflowRuns.connectionId, connection.id));
    t.notOk(
      runs.some((r) => r.githubRunId === 120),
      'nothing of the failed delivery is kept',
    );
    t.equal(runs.filter((r) => r.githubRunId >= 113 && r.githubRunId <= 124).length, 11);
    const bad = items[120 - 113]!;
    const [record] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, bad.deliveryId));
    t.match(record, { outcome: 'error', error: /Processing failed/ });
    // GitHub's "Redeliver" (same delivery id) retries it once the cause is gone.
    failFor = null;
    t.same(await ingest.record(bad), { outcome: 'processed' });
    t.ok(
      (await app.db.select().from(workflowRuns).where(eq(workflowRuns.githubRunId, 120))).length ===
        1,
    );
  });

  await t.test('one hook call per run per commit', async (t) => {
    seen.length = 0;
    const group = [
      delivery(connection, 'workflow_job', jobEvent(411, 130)),
      delivery(connection, 'workflow_job', jobEvent(412, 130)),
      delivery(connection, 'workflow_run', runEvent(130)),
    ];
    const results = await Promise.all(group.map((d) => ingest.record(d)));
    t.same(
      results.map((r) => r.outcome),
      ['processed', 'processed', 'processed'],
    );
    const calls = seen.filter((e) => e.run.githubRunId === 130);
    t.ok(calls.length >= 1 && calls.length <= 3);
    const last = calls.at(-1)!;
    t.same(last.jobs.map((j) => j.githubJobId).sort(), [411, 412]);
    t.equal(last.run.placeholder, false);
  });

  await ingest.drain();
});

t.test('the secret cache: rotation grace period and reload', async (t) => {
  const { app } = await buildTestApp(t);
  const { user } = await createUserWithToken(app, { login: 'secrets-owner' });
  const { connection, secret } = await seedConnection(app, user.id, { githubRepoId: 8880002 });
  let now = Date.now();
  const store = createRepositoryConnectionsStore(app.db);
  const cache = createConnectionSecrets({
    store,
    secretBox: app.secretBox,
    reloadMs: 1000,
    now: () => now,
  });
  const body = Buffer.from('{"zen":"z"}');
  const sign = (s: string) => signPayload(s, body);

  t.match(await cache.verify(connection.id, body, sign(secret)), {
    status: 'ok',
    text: '{"zen":"z"}',
  });
  t.same(await cache.verify(connection.id, body, sign('wrong')), { status: 'bad_signature' });
  t.same(await cache.verify(randomUUID(), body, sign(secret)), { status: 'unknown_connection' });

  // Rotated elsewhere (another process): the new secret verifies after a reload.
  const rotated = 'rotated-secret-value-0123456789abcdef';
  knownSecrets.add(rotated);
  const seal = (value: string, column: 'webhook_secret_enc' | 'previous_webhook_secret_enc') =>
    app.secretBox.encrypt(value, secretContext('repository_connections', column, connection.id));
  await store.replaceSecrets(connection.id, {
    webhookSecretEnc: seal(rotated, 'webhook_secret_enc'),
    previousWebhookSecretEnc: seal(secret, 'previous_webhook_secret_enc'),
    previousSecretExpiresAt: new Date(now + 3600_000),
  });
  t.same(
    await cache.verify(connection.id, body, sign(rotated)),
    { status: 'bad_signature' },
    'not reloaded within reloadMs',
  );
  now += 1500;
  t.match(await cache.verify(connection.id, body, sign(rotated)), { status: 'ok' }, 'reloaded');
  t.match(
    await cache.verify(connection.id, body, sign(secret)),
    { status: 'ok' },
    'old secret in grace',
  );
  now += 3600_000;
  t.same(
    await cache.verify(connection.id, body, sign(secret)),
    { status: 'bad_signature' },
    'grace over',
  );
  t.match(await cache.verify(connection.id, body, sign(rotated)), { status: 'ok' });

  cache.invalidate(connection.id);
  t.equal(cache.size, 1, 'unknown ids are remembered, the invalidated one is not');
  // Deleted: the next reload finds nothing.
  await store.delete(user.id, connection.id);
  now += 10 * 60_000;
  t.same(await cache.verify(connection.id, body, sign(rotated)), { status: 'unknown_connection' });

  // Concurrent first lookups share one load; a cache bounded in size.
  const small = createConnectionSecrets({ store, secretBox: app.secretBox, maxEntries: 2 });
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  await Promise.all([...ids, ...ids].map((id) => small.verify(id, body, sign(secret))));
  t.equal(small.size, 2);
});
