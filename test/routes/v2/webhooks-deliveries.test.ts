// The delivery log through the API (GET /api/v2/webhooks/deliveries and …/deliveries/:id):
// the caller's deliveries only, newest first, filtered by connection, event and outcome, in
// keyset pages that neither skip nor repeat rows sharing a timestamp; one delivery with the
// payload GitHub sent, null once retention dropped it. repos:read; anyone else's is 404.
import { randomUUID } from 'node:crypto';
import { desc, eq, inArray } from 'drizzle-orm';
import t from 'tap';
import { webhookDeliveries } from '../../../src/db/schema/index.ts';
import {
  createWebhookDeliveriesStore,
  type DeliveryInput,
} from '../../../src/db/stores/webhook-deliveries-store.ts';
import { pruneData } from '../../../src/services/prune-data.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';

const ALPHA = { id: 5580001, full_name: 'acme/alpha' };
const BETA = { id: 5580002, full_name: 'acme/beta' };
const GAMMA = { id: 5580003, full_name: 'acme/gamma' };

function runPayload(repository: { id: number; full_name: string }, runId: number) {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  return {
    ...base,
    repository: { ...(base['repository'] as object), ...repository },
    workflow_run: { ...(base['workflow_run'] as object), id: runId },
  };
}

interface DeliveryJson {
  id: string;
  delivery_id: string;
  replay: { number: number; of_delivery_id: string } | null;
  connection_id: string;
  repository: string;
  hook: string;
  event: string;
  action: string | null;
  outcome: string;
  reason: string | null;
  duration_ms: number | null;
  received_at: string;
  payload?: unknown;
}

t.test('the delivery log API', async (t) => {
  const { app } = await buildTestApp(t);
  const owner = await createUserWithToken(app, { login: 'log-owner' });
  const other = await createUserWithToken(app, { login: 'log-other' });
  const alpha = await seedConnection(app, owner.user.id, {
    githubRepoId: ALPHA.id,
    fullName: ALPHA.full_name,
  });
  const beta = await seedConnection(app, owner.user.id, {
    githubRepoId: BETA.id,
    fullName: BETA.full_name,
  });
  const gamma = await seedConnection(app, other.user.id, {
    githubRepoId: GAMMA.id,
    fullName: GAMMA.full_name,
  });
  const send = async (
    seeded: { connection: { id: string }; secret: string },
    event: string,
    payload: object,
  ) => {
    const { response, deliveryId } = await deliver(app, {
      url: `/api/v1/webhook/github/${seeded.connection.id}`,
      secret: seeded.secret,
      event,
      payload,
    });
    t.equal(response.statusCode, 200, response.body);
    const [row] = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    return row!;
  };

  // Through ingestion: two runs and an event Flowfix ignores on alpha, a run on beta, and
  // the other user's run on gamma.
  const alphaRunPayload = runPayload(ALPHA, 9_200_001);
  const alphaRun = await send(alpha, 'workflow_run', alphaRunPayload);
  await send(alpha, 'workflow_run', runPayload(ALPHA, 9_200_002));
  const starred = await send(alpha, 'star', {
    action: 'created',
    starred_at: '2024-06-01T10:00:00Z',
    repository: ALPHA,
    sender: { login: 'someone', id: 1 },
  });
  await send(beta, 'workflow_run', runPayload(BETA, 9_200_003));
  const foreign = await send(gamma, 'workflow_run', runPayload(GAMMA, 9_200_004));
  // Recorded directly: a failed delivery, and five sharing one timestamp (pages must neither
  // skip nor repeat them).
  const store = createWebhookDeliveriesStore(app.db);
  const recorded = (connectionId: string, over: Partial<DeliveryInput>): DeliveryInput => ({
    hookKey: connectionId,
    connectionId,
    deliveryId: randomUUID(),
    event: 'workflow_job',
    action: 'completed',
    outcome: 'processed',
    durationMs: 3,
    error: null,
    payloadText: null,
    ...over,
    receivedAt: over.receivedAt ?? new Date(),
  });
  const [failed] = await store.insertMany([
    recorded(beta.connection.id, {
      outcome: 'error',
      error: 'database unavailable',
      receivedAt: new Date(Date.now() - 2 * 3600_000),
    }),
  ]);
  const tie = new Date(Date.now() - 3600_000);
  await store.insertMany(
    Array.from({ length: 5 }, () => recorded(alpha.connection.id, { receivedAt: tie })),
  );

  const list = (query = '', headers: Record<string, string> = owner.headers) =>
    app.inject({ url: `/api/v2/webhooks/deliveries${query}`, headers });
  const items = async (query: string) => {
    const res = await list(query);
    t.equal(res.statusCode, 200, res.body);
    return (res.json() as { items: DeliveryJson[] }).items;
  };
  const detail = (id: string, headers: Record<string, string> = owner.headers) =>
    app.inject({ url: `/api/v2/webhooks/deliveries/${id}`, headers });

  await t.test('newest first, only the caller’s, in the documented shape', async (t) => {
    const res = await list();
    t.equal(res.statusCode, 200);
    const body = res.json() as { items: DeliveryJson[]; next_cursor: string | null };
    t.equal(body.items.length, 10, "alpha's 8 and beta's 2");
    t.equal(body.next_cursor, null);
    const times = body.items.map((d) => Date.parse(d.received_at));
    t.same(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    t.notOk(
      body.items.some((d) => d.connection_id === gamma.connection.id),
      "no other user's delivery",
    );
    t.same(
      body.items.find((d) => d.id === alphaRun.id),
      {
        id: alphaRun.id,
        delivery_id: alphaRun.deliveryId,
        replay: null,
        connection_id: alpha.connection.id,
        repository: ALPHA.full_name,
        hook: 'repository',
        event: 'workflow_run',
        action: 'completed',
        outcome: 'processed',
        reason: null,
        duration_ms: alphaRun.durationMs,
        received_at: alphaRun.receivedAt.toISOString(),
      },
    );
    t.match(
      body.items.find((d) => d.id === failed!.id),
      {
        outcome: 'error',
        reason: 'database unavailable',
      },
    );
    t.notOk('payload' in body.items[0]!, 'lists carry no payloads');

    const theirs = await list('', other.headers);
    t.same(
      (theirs.json() as { items: DeliveryJson[] }).items.map((d) => d.id),
      [foreign.id],
    );
  });

  await t.test('filters: connection, event, outcome', async (t) => {
    t.equal((await items(`?connection_id=${alpha.connection.id}`)).length, 8);
    t.same(
      (await items(`?connection_id=${beta.connection.id}&outcome=error`)).map((d) => d.id),
      [failed!.id],
    );
    t.same(
      (await items('?event=star')).map((d) => d.id),
      [starred.id],
    );
    t.match(await items('?event=star'), [{ outcome: 'ignored', reason: /\w/ }]);
    const runs = await items('?event=workflow_run&outcome=processed');
    t.equal(runs.length, 3);
    t.ok(runs.every((d) => d.event === 'workflow_run' && d.outcome === 'processed'));
    t.same(await items('?outcome=ignored'), await items('?event=star'));
    t.same(
      await items(`?connection_id=${gamma.connection.id}`),
      [],
      "another user's connection lists nothing",
    );
    t.same(await items(`?event=${encodeURIComponent("x' or '1'='1")}`), [], 'no SQL effect');
    for (const bad of ['?outcome=duplicate', '?connection_id=nope', '?limit=0', '?limit=101']) {
      t.equal((await list(bad)).statusCode, 400, bad);
    }
    const cursor = await list('?cursor=not-a-cursor');
    t.equal(cursor.statusCode, 400);
    t.match(cursor.json(), { code: 'FFX_ERR_BAD_REQUEST', message: /cursor is not valid/ });
  });

  await t.test(
    'keyset pages: every delivery once, in order, across equal timestamps',
    async (t) => {
      const ordered = await app.db
        .select({ id: webhookDeliveries.id, connectionId: webhookDeliveries.connectionId })
        .from(webhookDeliveries)
        .where(inArray(webhookDeliveries.connectionId, [alpha.connection.id, beta.connection.id]))
        .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id));
      const expected = ordered.map((r) => r.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        t.equal(res.statusCode, 200);
        const body = res.json() as { items: DeliveryJson[]; next_cursor: string | null };
        t.ok(body.items.length <= 3);
        seen.push(...body.items.map((d) => d.id));
        cursor = body.next_cursor;
        pages += 1;
      } while (cursor && pages < 10);
      t.equal(pages, 4);
      t.same(seen, expected);

      // Filters hold across pages.
      const first = (await list(`?connection_id=${alpha.connection.id}&limit=4`)).json() as {
        items: DeliveryJson[];
        next_cursor: string;
      };
      const second = (
        await list(`?connection_id=${alpha.connection.id}&limit=4&cursor=${first.next_cursor}`)
      ).json() as { items: DeliveryJson[]; next_cursor: string | null };
      t.equal(second.next_cursor, null);
      t.same(
        [...first.items, ...second.items].map((d) => d.id),
        ordered.filter((r) => r.connectionId === alpha.connection.id).map((r) => r.id),
      );
    },
  );

  await t.test('one delivery with the payload GitHub sent', async (t) => {
    const res = await detail(alphaRun.id);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json() as DeliveryJson;
    t.match(body, { id: alphaRun.id, event: 'workflow_run', outcome: 'processed' });
    t.same(body.payload, alphaRunPayload, 'the payload as sent');
    t.ok(
      res.body.endsWith(`"payload":${JSON.stringify(alphaRunPayload)}}`),
      'the stored text itself, not parsed and serialised again',
    );
    t.match(res.headers['content-type'], /^application\/json/);

    t.same((await detail(failed!.id)).json().payload, null, 'never kept: null');

    // A replay is a delivery of its own, saying what it replays.
    const replayed = await app.inject({
      method: 'POST',
      url: `/api/v2/webhooks/deliveries/${alphaRun.id}/replay`,
      headers: owner.headers,
    });
    t.equal(replayed.statusCode, 200, replayed.body);
    const replay = (await detail((replayed.json() as { id: string }).id)).json() as DeliveryJson;
    t.match(replay, {
      delivery_id: `${alphaRun.deliveryId}:replay:1`,
      replay: { number: 1, of_delivery_id: alphaRun.deliveryId },
      outcome: 'processed',
    });
    t.same(replay.payload, alphaRunPayload);
  });

  await t.test('the payload is null once retention dropped it', async (t) => {
    const old = await send(alpha, 'workflow_run', runPayload(ALPHA, 9_200_005));
    t.not((await detail(old.id)).json().payload, null);
    await app.db
      .update(webhookDeliveries)
      .set({ receivedAt: new Date(Date.now() - 30 * 24 * 3600_000) })
      .where(eq(webhookDeliveries.id, old.id));
    await pruneData(app.db, { payloadRetentionDays: 14 });
    const res = await detail(old.id);
    t.equal(res.statusCode, 200);
    t.match(res.json(), { id: old.id, event: 'workflow_run', outcome: 'processed', payload: null });
  });

  await t.test('repos:read; anyone else’s delivery is 404', async (t) => {
    t.equal((await list('', {})).statusCode, 401);
    t.equal((await detail(alphaRun.id, {})).statusCode, 401);
    const runsOnly = await createUserWithToken(app, { login: 'log-runs', scopes: ['runs:read'] });
    for (const res of [
      await list('', runsOnly.headers),
      await detail(alphaRun.id, runsOnly.headers),
    ]) {
      t.equal(res.statusCode, 403);
      t.match(res.json(), { code: 'FFX_ERR_FORBIDDEN' });
    }
    const reader = await app.apiTokens.create(
      owner.user.id,
      { name: 'repos reader', scopes: ['repos:read'], expiresAt: null },
      ['repos:read'],
    );
    const readerHeaders = { authorization: `Bearer ${reader.token}` };
    t.equal((await list('', readerHeaders)).statusCode, 200);
    t.equal((await detail(alphaRun.id, readerHeaders)).statusCode, 200);
    const session = await signIn(app, owner.user);
    t.equal((await detail(alphaRun.id, session.headers)).statusCode, 200, 'a session reads too');

    const notMine = await detail(alphaRun.id, other.headers);
    t.equal(notMine.statusCode, 404);
    t.match(notMine.json(), { code: 'FFX_ERR_NOT_FOUND', message: 'Delivery not found' });
    t.equal((await detail(foreign.id)).statusCode, 404, 'nor the other way round');
    t.equal((await detail(randomUUID())).statusCode, 404);
    t.equal((await detail('not-a-uuid')).statusCode, 400);
  });

  await t.test('described in the OpenAPI document', async (t) => {
    const { paths } = (await app.inject('/docs/json')).json() as {
      paths: Record<string, { get?: { tags: string[]; parameters: Array<{ name: string }> } }>;
    };
    t.same(paths['/api/v2/webhooks/deliveries']?.get?.tags, ['webhooks']);
    t.same(paths['/api/v2/webhooks/deliveries']?.get?.parameters.map((p) => p.name).sort(), [
      'connection_id',
      'cursor',
      'event',
      'limit',
      'outcome',
    ]);
    t.ok(paths['/api/v2/webhooks/deliveries/{id}']?.get);
  });
});
