// Replaying a stored delivery (POST /api/v2/webhooks/deliveries/:id/replay and the Replay
// button on /admin/deliveries/:id): the kept payload goes through ingestion again as a new
// delivery `{id}:replay:{n}`, the original untouched and still a duplicate for GitHub's
// redelivery; a replay changes what a later state of the connection allows, and never
// counts a run twice. Only the connection's owner may replay (scope, CSRF, 404 for anyone
// else); a payload that was dropped or never kept is 410 with words that say so.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import t from 'tap';
import { incidents, webhookDeliveries } from '../../../src/db/schema/index.ts';
import { pruneData } from '../../../src/services/prune-data.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';
import {
  deliver,
  seedConnection,
  storedDelivery,
  storedRun,
} from '../../services/ingest/ingest-fixtures.ts';

const REPO = { id: 5570001, full_name: 'acme/replayed' };

function runPayload(over: Record<string, unknown>) {
  const base = loadWebhookExamples('workflow_run')[1]!.payload as unknown as Record<
    string,
    unknown
  >;
  return {
    ...base,
    repository: { ...(base['repository'] as object), ...REPO },
    workflow_run: { ...(base['workflow_run'] as object), ...over },
  };
}

t.test('replaying stored deliveries', async (t) => {
  const { app } = await buildTestApp(t);
  const owner = await createUserWithToken(app, { login: 'replay-owner' });
  const other = await createUserWithToken(app, { login: 'replay-other' });
  const { connection, secret } = await seedConnection(app, owner.user.id, {
    githubRepoId: REPO.id,
    fullName: REPO.full_name,
  });
  const url = `/api/v1/webhook/github/${connection.id}`;
  const send = async (payload: object, deliveryId = randomUUID()) => {
    const { response } = await deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload,
      deliveryId,
    });
    return { response, deliveryId };
  };
  const rowOf = async (deliveryId: string) =>
    (await storedDelivery(app, connection.id, deliveryId))!;
  const replay = (id: string, headers: Record<string, string> = owner.headers) =>
    app.inject({ method: 'POST', url: `/api/v2/webhooks/deliveries/${id}/replay`, headers });
  const runOf = (githubRunId: number) => storedRun(app, connection.id, githubRunId);

  await t.test('a delivery that arrived while disabled is processed when replayed', async (t) => {
    const disable = (enabled: boolean) =>
      app.inject({
        method: 'PATCH',
        url: `/api/v2/repositories/connections/${connection.id}`,
        headers: owner.headers,
        payload: { enabled },
      });
    t.equal((await disable(false)).statusCode, 200);
    const sent = await send(runPayload({ id: 9_100_001, conclusion: 'success' }));
    t.same(sent.response.json(), { outcome: 'ignored', reason: 'connection is disabled' });
    t.equal(await runOf(9_100_001), undefined, 'nothing stored while disabled');
    const original = await rowOf(sent.deliveryId);
    t.equal((await disable(true)).statusCode, 200);

    const res = await replay(original.id);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json() as { id: string; delivery_id: string };
    t.match(body, {
      delivery_id: `${sent.deliveryId}:replay:1`,
      replay_of: original.id,
      outcome: 'processed',
    });
    t.ok(await runOf(9_100_001), 'the run is stored now');
    const recorded = await rowOf(`${sent.deliveryId}:replay:1`);
    t.match(recorded, { id: body.id, event: 'workflow_run', outcome: 'processed' });
    t.same(recorded.payload, original.payload, 'the replay keeps the payload too');
    t.match(await rowOf(sent.deliveryId), { outcome: 'ignored' }, 'the original is untouched');

    // GitHub redelivering the original is still a redelivery.
    const again = await send(runPayload({ id: 9_100_001, conclusion: 'success' }), sent.deliveryId);
    t.same(again.response.json(), { outcome: 'duplicate' });
  });

  await t.test('replays are numbered; a replayed failure is not counted twice', async (t) => {
    const sent = await send(
      runPayload({ id: 9_100_002, conclusion: 'failure', head_branch: 'main' }),
    );
    t.same(sent.response.json(), { outcome: 'processed' });
    const original = await rowOf(sent.deliveryId);
    const incident = async () =>
      (await app.db.select().from(incidents).where(eq(incidents.connectionId, connection.id)))[0];
    t.match(await incident(), { occurrences: 1 });

    const first = (await replay(original.id)).json() as { id: string; delivery_id: string };
    t.match(first, { delivery_id: `${sent.deliveryId}:replay:1`, outcome: 'processed' });
    const second = (await replay(original.id)).json() as { delivery_id: string };
    t.equal(second.delivery_id, `${sent.deliveryId}:replay:2`);
    const ofReplay = (await replay(first.id)).json() as { delivery_id: string; replay_of: string };
    t.match(
      ofReplay,
      { delivery_id: `${sent.deliveryId}:replay:3`, replay_of: first.id },
      "a replay's replay counts on GitHub's delivery id",
    );
    t.ok(await runOf(9_100_002), 'one run (a unique key: never two)');
    t.match(await incident(), { occurrences: 1 }, 'the same run attempt is counted once');
  });

  await t.test('only the owner, with repos:write, may replay', async (t) => {
    const sent = await send(runPayload({ id: 9_100_003 }));
    const { id } = await rowOf(sent.deliveryId);
    t.equal((await replay(id, {})).statusCode, 401, 'no credentials');
    const readOnly = await app.apiTokens.create(
      owner.user.id,
      { name: 'read only', scopes: ['runs:read', 'repos:read'], expiresAt: null },
      ['runs:read', 'repos:read'],
    );
    const forbidden = await replay(id, { authorization: `Bearer ${readOnly.token}` });
    t.equal(forbidden.statusCode, 403);
    t.match(forbidden.json(), { code: 'FFX_ERR_FORBIDDEN' });
    const notMine = await replay(id, other.headers);
    t.equal(notMine.statusCode, 404, "another user's delivery is not found");
    t.match(notMine.json(), { code: 'FFX_ERR_NOT_FOUND', message: 'Delivery not found' });
    t.equal((await replay(randomUUID())).statusCode, 404);
    t.equal((await replay('not-a-uuid')).statusCode, 400);

    // A browser session needs its CSRF token.
    const session = await signIn(app, owner.user);
    t.equal((await replay(id, session.headers)).statusCode, 403);
    const withCsrf = await replay(id, { ...session.headers, 'x-csrf-token': session.csrfToken });
    t.equal(withCsrf.statusCode, 200);
    t.equal(
      (
        await app.db
          .select()
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.deliveryId, `${sent.deliveryId}:replay:1`))
      ).length,
      1,
      'only the accepted replay was recorded',
    );
  });

  await t.test('a payload no longer kept, or never kept, is 410', async (t) => {
    const old = await send(runPayload({ id: 9_100_004 }));
    await app.db
      .update(webhookDeliveries)
      .set({ receivedAt: new Date(Date.now() - 30 * 24 * 3600 * 1000) })
      .where(eq(webhookDeliveries.deliveryId, old.deliveryId));
    await pruneData(app.db, { payloadRetentionDays: 14 });
    const expired = await replay((await rowOf(old.deliveryId)).id);
    t.equal(expired.statusCode, 410);
    t.match(expired.json(), {
      code: 'FFX_ERR_GONE',
      message: /no longer kept \(payloads are kept 14 days\), so it cannot be replayed/,
    });

    // A delivery recorded without its payload (processing failed, or a \u0000 in it).
    const notKept = await send(runPayload({ id: 9_100_005 }));
    await app.db
      .update(webhookDeliveries)
      .set({ payloadText: null })
      .where(eq(webhookDeliveries.deliveryId, notKept.deliveryId));
    const never = await replay((await rowOf(notKept.deliveryId)).id);
    t.equal(never.statusCode, 410);
    t.match(never.json(), { message: /did not keep this delivery's payload/ });
    const replays = await app.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, `${notKept.deliveryId}:replay:1`));
    t.same(replays, [], 'nothing recorded');
  });

  await t.test('the Replay button on the delivery page', async (t) => {
    const session = await signIn(app, owner.user);
    const sent = await send(runPayload({ id: 9_100_006 }));
    const { id } = await rowOf(sent.deliveryId);
    const page = await app.inject({ url: `/admin/deliveries/${id}`, headers: session.headers });
    t.equal(page.statusCode, 200);
    t.match(page.body, `action="/admin/deliveries/${id}/replay"`);
    t.match(page.body, `name="_csrf" value="${session.csrfToken}"`);

    const post = (target: string, csrf?: string) =>
      app.inject({
        method: 'POST',
        url: `/admin/deliveries/${target}/replay`,
        headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
        payload: csrf === undefined ? '' : `_csrf=${encodeURIComponent(csrf)}`,
      });
    t.equal((await post(id)).statusCode, 403, 'no CSRF token, no replay');
    const done = await post(id, session.csrfToken);
    t.equal(done.statusCode, 303);
    const replayed = await rowOf(`${sent.deliveryId}:replay:1`);
    t.equal(done.headers.location, `/admin/deliveries/${replayed.id}`, 'to the new delivery');
    const shown = await app.inject({
      url: done.headers.location as string,
      headers: { ...session.headers, cookie: `${session.cookie}; ${flashCookie(done)}` },
    });
    t.match(shown.body, `Replayed as ${sent.deliveryId}:replay:1: processed.`);
    t.match(shown.body, /id="replay-of">replay 1 of GitHub delivery/);

    // Payload gone: back to the delivery with the reason.
    await app.db
      .update(webhookDeliveries)
      .set({ payloadText: null })
      .where(eq(webhookDeliveries.id, id));
    const gone = await post(id, session.csrfToken);
    t.equal(gone.statusCode, 303);
    t.equal(gone.headers.location, `/admin/deliveries/${id}`);
    const back = await app.inject({
      url: `/admin/deliveries/${id}`,
      headers: { ...session.headers, cookie: `${session.cookie}; ${flashCookie(gone)}` },
    });
    t.match(back.body, /Not replayed: Flowfix did not keep this delivery&#39;s payload/);
    t.notMatch(back.body, /id="replay"/, 'no button without a payload');

    const otherSession = await signIn(app, other.user);
    const foreign = await app.inject({
      method: 'POST',
      url: `/admin/deliveries/${replayed.id}/replay`,
      headers: { ...otherSession.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(otherSession.csrfToken)}`,
    });
    t.equal(foreign.statusCode, 404);
  });
});

/** The flash cookie a redirect set, as a request cookie. */
function flashCookie(response: { headers: Record<string, unknown> }): string {
  const set = response.headers['set-cookie'];
  const list = Array.isArray(set) ? set : [String(set)];
  const flash = list.find((c: string) => c.startsWith('ffx_flash='));
  return flash ? flash.split(';')[0]! : '';
}
