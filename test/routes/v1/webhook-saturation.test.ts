// Ingestion under saturation, through the real route: while the database holds every
// transaction back, deliveries wait until their payloads fill the bound on waiting bytes;
// the next one is answered 503 at once with words GitHub's delivery log can show, nothing
// of it is stored, and redelivering it once the database is free stores it.
import { and, eq, sql } from 'drizzle-orm';
import t from 'tap';
import { webhookDeliveries, workflowRuns } from '../../../src/db/schema/index.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';

const REPO = { id: 5560001, full_name: 'acme/saturated' };

function runPayload(id: number) {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  return {
    ...base,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_run: { ...(base['workflow_run'] as object), id },
  };
}

const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));

t.test('a saturated ingestion answers 503; the redelivery is stored', async (t) => {
  // Room for two waiting deliveries of this size, not three; the count bound (1000) is far.
  const size = JSON.stringify(runPayload(1)).length;
  const { app } = await buildTestApp(t, {
    deps: { ingestLimits: { maxQueuedBytes: Math.floor(size * 2.5) } },
  });
  const lanes = app.database.kind === 'pglite' ? 1 : 2;
  const { user } = await createUserWithToken(app, { login: 'saturation-owner' });
  const { connection, secret } = await seedConnection(app, user.id, {
    githubRepoId: REPO.id,
    fullName: REPO.full_name,
  });
  const url = `/api/v1/webhook/github/${connection.id}`;
  // A first delivery loads the connection's secret, so verifying needs no query later.
  const warm = await deliver(app, {
    url,
    secret,
    event: 'ping',
    payload: { zen: 'z', hook_id: 1 },
  });
  t.equal(warm.response.statusCode, 200);

  // Hold the connection's row: recording a delivery (its foreign key) waits for it — on
  // PGlite, every query waits for the open transaction.
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let locked: () => void = () => {};
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = app.db.transaction(async (tx) => {
    await tx.execute(
      sql`select id from repository_connections where id = ${connection.id} for update`,
    );
    locked();
    await gate;
  });
  await isLocked;

  type Sent = Awaited<ReturnType<typeof deliver>>;
  const waiting: Array<Promise<Sent>> = [];
  let refused: Sent | undefined;
  for (let i = 0; i < 20 && refused === undefined; i += 1) {
    const sending = deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload: runPayload(1000 + i),
    });
    // A refusal is immediate; an accepted delivery waits for its transaction.
    const early = await Promise.race([sending, sleep(150)]);
    if (early === null) waiting.push(sending);
    else if (early.response.statusCode === 503) refused = early;
    else t.fail(`unexpected ${early.response.statusCode} while the database is held`);
  }
  t.ok(refused, 'a delivery beyond the byte bound is refused');
  t.ok(
    waiting.length >= 2 && waiting.length <= lanes + 2,
    `the bound counts bytes: ${waiting.length} accepted (${lanes} in flight, 2 waiting)`,
  );
  t.same(refused!.response.json(), {
    error: 'Service Unavailable',
    code: 'FFX_ERR_UNAVAILABLE',
    message: 'Flowfix is saturated with deliveries; redeliver this one from GitHub later',
  });

  release();
  await holder;
  const accepted = await Promise.all(waiting);
  t.same(
    accepted.map((s) => [s.response.statusCode, s.response.json()]),
    accepted.map(() => [200, { outcome: 'processed' }]),
    'what was accepted is stored once the database is free',
  );
  const recorded = () =>
    app.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.hookKey, connection.id),
          eq(webhookDeliveries.deliveryId, refused!.deliveryId),
        ),
      );
  t.same(await recorded(), [], 'nothing of the refused delivery was stored');

  // GitHub's "Redeliver": the same delivery id and body.
  const { response: again } = await deliver(app, {
    url,
    secret,
    event: 'workflow_run',
    payload: refused!.body,
    deliveryId: refused!.deliveryId,
  });
  t.equal(again.statusCode, 200);
  t.same(again.json(), { outcome: 'processed' });
  t.match(await recorded(), [{ outcome: 'processed', event: 'workflow_run' }]);
  const runs = await app.db
    .select()
    .from(workflowRuns)
    .where(eq(workflowRuns.connectionId, connection.id));
  t.equal(runs.length, waiting.length + 1, 'every run is stored, the redelivered one too');
});
