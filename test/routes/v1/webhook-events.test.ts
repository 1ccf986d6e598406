// What each event does: out-of-order run and job sequences (never backwards), jobs before
// their run (placeholder), re-runs, ping, repository renamed/transferred/deleted,
// pull_request and installation kept, the app-level hook routing by repository id, and
// payload retention.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { and, eq, inArray, sql } from 'drizzle-orm';
import t from 'tap';
import {
  repositoryConnections,
  webhookDeliveries,
  workflowJobs,
  workflowRuns,
} from '../../../src/db/schema/index.ts';
import { driverRows } from '../../../src/db/stores/workflow-runs-store.ts';
import { pruneData } from '../../../src/services/prune-data.ts';
import { storedPayloadText } from '../../../src/services/ingest/payload-text.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { createUserWithToken } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import { deliver, seedConnection, storedRun } from '../../services/ingest/ingest-fixtures.ts';

const APP_SECRET = 'app-level-secret-for-events-test-0001';
knownSecrets.add(APP_SECRET);

const REPO = { id: 5550001, full_name: 'acme/widgets', default_branch: 'main', private: false };

function runPayload(over: Record<string, unknown>, action = 'completed') {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  const wr = base['workflow_run'] as Record<string, unknown>;
  return {
    ...base,
    action,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_run: { ...wr, ...over },
  };
}

function jobPayload(over: Record<string, unknown>, action = 'completed') {
  const base = loadWebhookExamples('workflow_job')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  const wj = base['workflow_job'] as Record<string, unknown>;
  return {
    ...base,
    action,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_job: { ...wj, ...over },
  };
}

t.test('webhook events', async (t) => {
  const { app } = await buildTestApp(t, { env: { GITHUB_WEBHOOK_SECRET: APP_SECRET } });
  const { user } = await createUserWithToken(app, { login: 'events-owner' });
  const { connection, secret } = await seedConnection(app, user.id, {
    githubRepoId: REPO.id,
    fullName: REPO.full_name,
  });
  const url = `/api/v1/webhook/github/${connection.id}`;
  const send = async (event: string, payload: object) => {
    const { response } = await deliver(app, { url, secret, event, payload });
    if (response.statusCode !== 200)
      throw new Error(`${event}: ${response.statusCode} ${response.body}`);
    return response.json() as { outcome: string };
  };
  const runRow = (githubRunId: number) => storedRun(app, connection.id, githubRunId);
  const jobRow = async (githubJobId: number) =>
    (
      await app.db
        .select()
        .from(workflowJobs)
        .where(
          and(
            eq(workflowJobs.connectionId, connection.id),
            eq(workflowJobs.githubJobId, githubJobId),
          ),
        )
    )[0];

  await t.test(
    'a completed run followed by an older in_progress one stays completed',
    async (t) => {
      const id = 9_000_000_001;
      await send(
        'workflow_run',
        runPayload({
          id,
          status: 'completed',
          conclusion: 'failure',
          updated_at: '2024-05-01T10:05:00Z',
        }),
      );
      await send(
        'workflow_run',
        runPayload(
          { id, status: 'in_progress', conclusion: null, updated_at: '2024-05-01T10:01:00Z' },
          'in_progress',
        ),
      );
      t.match(await runRow(id), { status: 'completed', conclusion: 'failure' });
      // Same status, newer updated_at: moves forward.
      await send(
        'workflow_run',
        runPayload({
          id,
          status: 'completed',
          conclusion: 'success',
          updated_at: '2024-05-01T10:06:00Z',
        }),
      );
      t.match(await runRow(id), { status: 'completed', conclusion: 'success' });
      // Same status, older updated_at: no.
      await send(
        'workflow_run',
        runPayload({
          id,
          status: 'completed',
          conclusion: 'failure',
          updated_at: '2024-05-01T10:02:00Z',
        }),
      );
      t.match(await runRow(id), { conclusion: 'success' });
    },
  );

  await t.test('attempts: a re-run moves forward, a late earlier attempt does not', async (t) => {
    const id = 9_000_000_002;
    await send(
      'workflow_run',
      runPayload({ id, run_attempt: 1, status: 'completed', conclusion: 'failure' }),
    );
    await send(
      'workflow_run',
      runPayload(
        {
          id,
          run_attempt: 2,
          status: 'queued',
          conclusion: null,
          updated_at: '2020-01-01T00:00:00Z',
        },
        'requested',
      ),
    );
    t.match(await runRow(id), { runAttempt: 2, status: 'queued', conclusion: null });
    await send(
      'workflow_run',
      runPayload({ id, run_attempt: 1, status: 'completed', conclusion: 'failure' }),
    );
    t.match(await runRow(id), { runAttempt: 2, status: 'queued' });
    await send(
      'workflow_run',
      runPayload({ id, run_attempt: 2, status: 'completed', conclusion: 'success' }),
    );
    t.match(await runRow(id), { runAttempt: 2, status: 'completed', conclusion: 'success' });
  });

  await t.test('a job before its run creates a placeholder; the run replaces it', async (t) => {
    const runId = 9_000_000_003;
    const jobId = 9_100_000_003;
    await send(
      'workflow_job',
      jobPayload(
        { id: jobId, run_id: runId, status: 'in_progress', conclusion: null, steps: [] },
        'in_progress',
      ),
    );
    const placeholder = await runRow(runId);
    t.match(placeholder, {
      placeholder: true,
      status: 'in_progress',
      headSha: jobPayload({}).workflow_job['head_sha'],
    });
    t.ok(placeholder!.githubCreatedAt, 'a placeholder has a creation time (lists sort on it)');
    const job = await jobRow(jobId);
    t.equal(job!.runId, placeholder!.id);
    // A real snapshot — even an earlier status — replaces the placeholder, same row id.
    await send(
      'workflow_run',
      runPayload({ id: runId, status: 'queued', conclusion: null }, 'requested'),
    );
    const real = await runRow(runId);
    t.match(real, {
      id: placeholder!.id,
      placeholder: false,
      status: 'queued',
      workflowName: runPayload({}).workflow_run['name'],
    });
    // Later job events never touch the real run.
    await send('workflow_job', jobPayload({ id: jobId + 1, run_id: runId, status: 'completed' }));
    t.match(await runRow(runId), { placeholder: false, status: 'queued' });
  });

  await t.test('jobs never move backwards either', async (t) => {
    const runId = 9_000_000_004;
    const jobId = 9_100_000_104;
    const steps = [
      {
        name: 'Set up job',
        status: 'completed',
        conclusion: 'success',
        number: 1,
        started_at: null,
        completed_at: null,
      },
      {
        name: 'Run tests',
        status: 'completed',
        conclusion: 'failure',
        number: 2,
        started_at: null,
        completed_at: null,
      },
    ];
    await send(
      'workflow_job',
      jobPayload({ id: jobId, run_id: runId, status: 'completed', conclusion: 'failure', steps }),
    );
    await send(
      'workflow_job',
      jobPayload(
        {
          id: jobId,
          run_id: runId,
          status: 'in_progress',
          conclusion: null,
          steps: steps.slice(0, 1),
        },
        'in_progress',
      ),
    );
    await send(
      'workflow_job',
      jobPayload(
        { id: jobId, run_id: runId, status: 'queued', conclusion: null, steps: [] },
        'queued',
      ),
    );
    const job = await jobRow(jobId);
    t.match(job, { status: 'completed', conclusion: 'failure', failedSteps: ['Run tests'] });
    t.equal(job!.steps.length, 2);
    // In progress with more finished steps moves an in-progress job forward.
    const other = jobId + 1;
    await send(
      'workflow_job',
      jobPayload(
        {
          id: other,
          run_id: runId,
          status: 'in_progress',
          conclusion: null,
          steps: [{ ...steps[0]!, status: 'in_progress', conclusion: null }],
        },
        'in_progress',
      ),
    );
    await send(
      'workflow_job',
      jobPayload(
        {
          id: other,
          run_id: runId,
          status: 'in_progress',
          conclusion: null,
          steps: [steps[0]!, { ...steps[1]!, status: 'in_progress', conclusion: null }],
        },
        'in_progress',
      ),
    );
    t.equal((await jobRow(other))!.steps.length, 2);
  });

  await t.test('ping marks the hook verified', async (t) => {
    t.equal((await runRow(1)) ?? null, null);
    const before = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, connection.id));
    t.equal(before[0]!.webhookVerifiedAt, null);
    const ping = loadWebhookExamples('ping')[0]!.payload as unknown as Record<string, unknown>;
    t.same(await send('ping', { ...ping, hook_id: 4242, repository: REPO }), {
      outcome: 'processed',
    });
    const [after] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, connection.id));
    t.ok(after!.webhookVerifiedAt instanceof Date);
    t.equal(after!.webhookId, 4242, 'the hook id from a ping that beat the connect flow is kept');
    t.ok(after!.lastDeliveryAt instanceof Date);
  });

  await t.test('pull_request is kept with its payload', async (t) => {
    const pr = loadWebhookExamples('pull_request')[0]!.payload as unknown as Record<
      string,
      unknown
    >;
    const deliveryId = randomUUID();
    const { response } = await deliver(app, {
      url,
      secret,
      event: 'pull_request',
      payload: { ...pr, repository: REPO },
      deliveryId,
    });
    t.equal(response.statusCode, 200);
    const [row] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    t.match(row, { event: 'pull_request', action: pr['action'], outcome: 'processed' });
    const kept = await storedPayloadText(row!);
    t.equal(kept, JSON.stringify({ ...pr, repository: REPO }), 'the JSON text exactly as sent');
    t.equal(row!.payloadText, kept, 'stored as text');
    const [stored] = driverRows(
      await app.db.execute(
        sql`select pg_column_compression(payload_text) as compression,
              (select 'lz4' = any(enumvals) from pg_settings
               where name = 'default_toast_compression') as has_lz4
            from webhook_deliveries where delivery_id = ${deliveryId}`,
      ),
    );
    // lz4 where the server has it (migration 0003); otherwise, and on PGlite, the default.
    t.equal(
      stored?.['compression'],
      stored?.['has_lz4'] === true ? 'lz4' : 'pglz',
      'compressed by Postgres',
    );
  });

  // Payloads the stored text must reproduce exactly, whatever jsonb or the event loop think.
  const exact: Array<[string, string]> = [
    [
      'a large payload (~680 KB)',
      JSON.stringify({
        action: 'opened',
        repository: REPO,
        pull_request: { body: 'long description '.repeat(40_000) },
      }),
    ],
    [
      'a payload holding \\u0000 (which jsonb refuses)',
      JSON.stringify({ action: 'opened', note: 'nul \u0000 here', repository: REPO }),
    ],
  ];
  for (const [name, body] of exact) {
    await t.test(`${name} is kept exactly`, async (t) => {
      const deliveryId = randomUUID();
      const { response } = await deliver(app, {
        url,
        secret,
        event: 'pull_request',
        payload: body,
        deliveryId,
      });
      t.equal(response.statusCode, 200);
      const [row] = await app.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.deliveryId, deliveryId));
      t.equal(await storedPayloadText(row!), body);
    });
  }

  await t.test('repository renamed, transferred, deleted', async (t) => {
    const examples = loadWebhookExamples('repository');
    const renamed = examples.find((e) => e.action === 'renamed')!.payload as unknown as Record<
      string,
      unknown
    >;
    await send('repository', {
      ...renamed,
      repository: { ...REPO, full_name: 'acme/gadgets', name: 'gadgets' },
    });
    let [row] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, connection.id));
    t.equal(row!.fullName, 'acme/gadgets');
    const transferred = examples.find((e) => e.action === 'transferred')!
      .payload as unknown as Record<string, unknown>;
    await send('repository', {
      ...transferred,
      repository: { ...REPO, full_name: 'newco/gadgets', private: true },
    });
    [row] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, connection.id));
    t.match(row, { fullName: 'newco/gadgets', private: true, enabled: true });
    // Other events never rewrite the connection (that would serialise deliveries on it).
    await send('workflow_run', {
      ...runPayload({ id: 9_000_000_010 }),
      repository: { ...REPO, full_name: 'newco/elsewhere' },
    });
    [row] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, connection.id));
    t.equal(row!.fullName, 'newco/gadgets');

    const other = await seedConnection(app, user.id, {
      githubRepoId: 5550002,
      fullName: 'acme/doomed',
    });
    const { response } = await deliver(app, {
      url: `/api/v1/webhook/github/${other.connection.id}`,
      secret: other.secret,
      event: 'repository',
      payload: { action: 'deleted', repository: { id: 5550002, full_name: 'acme/doomed' } },
    });
    t.equal(response.statusCode, 200);
    const [doomed] = await app.db
      .select()
      .from(repositoryConnections)
      .where(eq(repositoryConnections.id, other.connection.id));
    t.equal(doomed!.enabled, false, 'a deleted repository disables its connection');
  });

  await t.test('app-level hook: routed by repository id to every enabled connection', async (t) => {
    const { user: second } = await createUserWithToken(app, { login: 'events-second' });
    const { user: third } = await createUserWithToken(app, { login: 'events-third' });
    const a = await seedConnection(app, second.id, {
      githubRepoId: 6660001,
      fullName: 'org/shared',
    });
    const b = await seedConnection(app, third.id, {
      githubRepoId: 6660001,
      fullName: 'org/shared',
    });
    await seedConnection(app, user.id, {
      githubRepoId: 6660001,
      fullName: 'org/shared',
      enabled: false,
    });
    const payload = {
      ...runPayload({ id: 9_000_000_020 }),
      repository: { id: 6660001, full_name: 'org/shared' },
    };
    const deliveryId = randomUUID();
    const { response } = await deliver(app, {
      url: '/api/v1/webhook/github',
      secret: APP_SECRET,
      event: 'workflow_run',
      payload,
      deliveryId,
    });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { outcome: 'processed' });
    const runs = await app.db
      .select()
      .from(workflowRuns)
      .where(eq(workflowRuns.githubRunId, 9_000_000_020));
    t.same(runs.map((r) => r.connectionId).sort(), [a.connection.id, b.connection.id].sort());
    const recorded = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    t.same(
      recorded.map((d) => d.hookKey).sort(),
      [`app:${a.connection.id}`, `app:${b.connection.id}`].sort(),
    );
    // Redelivered: processed once.
    const again = await deliver(app, {
      url: '/api/v1/webhook/github',
      secret: APP_SECRET,
      event: 'workflow_run',
      payload,
      deliveryId,
    });
    t.same(again.response.json(), { outcome: 'duplicate' });

    // A repository nobody connected: 2xx, recorded as ignored, its payload not kept.
    const lonelyId = randomUUID();
    const lonely = await deliver(app, {
      url: '/api/v1/webhook/github',
      secret: APP_SECRET,
      event: 'workflow_run',
      payload: { ...payload, repository: { id: 7770001, full_name: 'org/nobody' } },
      deliveryId: lonelyId,
    });
    t.same(lonely.response.json(), { outcome: 'ignored', reason: 'repository is not connected' });
    const [ignored] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, lonelyId));
    t.match(ignored, { hookKey: 'app', connectionId: null, outcome: 'ignored', payloadText: null });
    t.equal(
      (await app.db.select().from(workflowRuns).where(eq(workflowRuns.githubRunId, 9_000_000_020)))
        .length,
      2,
    );

    // installation: recorded (with its payload) for the app.
    const installation = loadWebhookExamples('installation')[0]!.payload;
    const installId = randomUUID();
    const inst = await deliver(app, {
      url: '/api/v1/webhook/github',
      secret: APP_SECRET,
      event: 'installation',
      payload: installation,
      deliveryId: installId,
    });
    t.same(inst.response.json(), { outcome: 'processed' });
    const [instRow] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, installId));
    t.match(instRow, { hookKey: 'app', event: 'installation', outcome: 'processed' });
    t.ok(instRow!.payloadText);
  });

  await t.test('malformed workflow payloads: recorded as errors, answered 400', async (t) => {
    const deliveryId = randomUUID();
    const { response } = await deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload: { action: 'completed', repository: REPO, workflow_run: { status: 'completed' } },
      deliveryId,
    });
    t.equal(response.statusCode, 400);
    t.match(response.json().message, /workflow_run\.id/);
    const [row] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    t.match(row, { outcome: 'error', error: /workflow_run\.id/ });
    // A fixed redelivery (same id) of an errored delivery is processed, not deduped.
    const fixed = await deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload: runPayload({ id: 9_000_000_030 }),
      deliveryId,
    });
    t.same(fixed.response.json(), { outcome: 'processed' });
    t.ok(await runRow(9_000_000_030));
    const job = await deliver(app, {
      url,
      secret,
      event: 'workflow_job',
      payload: { action: 'queued', repository: REPO, workflow_job: { id: 1 } },
    });
    t.equal(job.response.statusCode, 400);
  });

  await t.test('payloads are dropped after the retention period, the record stays', async (t) => {
    const deliveryId = randomUUID();
    await deliver(app, {
      url,
      secret,
      event: 'ping',
      payload: { zen: 'old', hook_id: 1 },
      deliveryId,
    });
    // Recorded by earlier versions: as jsonb, and gzipped; both are read back as JSON text.
    const legacyId = randomUUID();
    await deliver(app, { url, secret, event: 'ping', payload: { zen: 'x' }, deliveryId: legacyId });
    await app.db
      .update(webhookDeliveries)
      .set({ payloadText: null, payload: { zen: 'legacy', hook_id: 2 } })
      .where(eq(webhookDeliveries.deliveryId, legacyId));
    const [legacy] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, legacyId));
    t.same(JSON.parse((await storedPayloadText(legacy!))!), { zen: 'legacy', hook_id: 2 });
    const gzippedId = randomUUID();
    await deliver(app, {
      url,
      secret,
      event: 'ping',
      payload: { zen: 'y' },
      deliveryId: gzippedId,
    });
    const gzippedText = '{"zen":"gzipped","hook_id":3}';
    await app.db
      .update(webhookDeliveries)
      .set({ payloadText: null, payloadGz: gzipSync(gzippedText) })
      .where(eq(webhookDeliveries.deliveryId, gzippedId));
    const [gzipped] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, gzippedId));
    t.equal(await storedPayloadText(gzipped!), gzippedText);

    await app.db
      .update(webhookDeliveries)
      .set({ receivedAt: new Date(Date.now() - 30 * 24 * 3600 * 1000) })
      .where(inArray(webhookDeliveries.deliveryId, [deliveryId, legacyId, gzippedId]));
    await pruneData(app.db, { payloadRetentionDays: 14 });
    const rows = await app.db
      .select()
      .from(webhookDeliveries)
      .where(inArray(webhookDeliveries.deliveryId, [deliveryId, legacyId, gzippedId]));
    t.equal(rows.length, 3);
    for (const row of rows) {
      t.match(row, {
        payloadText: null,
        payloadGz: null,
        payload: null,
        outcome: 'processed',
        event: 'ping',
      });
      t.equal(await storedPayloadText(row), null);
    }
  });
});
