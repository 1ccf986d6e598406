// Every line of security.md "Webhooks", against the real routes on a real database:
// signatures (forged, missing, sha1-only, wrong length, non-hex, re-serialised), dedupe,
// body limit, both encodings, unknown/disabled connections, foreign repositories, unknown
// events. "Nothing stored" is checked by counting rows.
import { randomUUID } from 'node:crypto';
import { count } from 'drizzle-orm';
import t from 'tap';
import { webhookDeliveries, workflowJobs, workflowRuns } from '../../../src/db/schema/index.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { createUserWithToken } from '../../support/auth.ts';
import { loadWebhookExamples, signPayload } from '../../support/webhook-sender.ts';
import { deliver, seedConnection } from '../../services/ingest/ingest-fixtures.ts';

const APP_SECRET = 'app-level-webhook-secret-0123456789';
knownSecrets.add(APP_SECRET);

t.test('webhook security', async (t) => {
  const { app } = await buildTestApp(t, { env: { GITHUB_WEBHOOK_SECRET: APP_SECRET } });
  const { user } = await createUserWithToken(app, { login: 'sec-owner' });
  const [example] = loadWebhookExamples('workflow_run');
  const payload = example!.payload as unknown as Record<string, unknown>;
  const repoId = (payload['repository'] as { id: number }).id;
  const { connection, secret } = await seedConnection(app, user.id, {
    githubRepoId: repoId,
    fullName: 'Codertocat/Hello-World',
  });
  const url = `/api/v1/webhook/github/${connection.id}`;

  const rows = async () => {
    const [d] = await app.db.select({ n: count() }).from(webhookDeliveries);
    const [r] = await app.db.select({ n: count() }).from(workflowRuns);
    const [j] = await app.db.select({ n: count() }).from(workflowJobs);
    return { deliveries: d!.n, runs: r!.n, jobs: j!.n };
  };

  await t.test('bad signatures: 401 and nothing stored', async (t) => {
    const before = await rows();
    const body = JSON.stringify(payload);
    const good = signPayload(secret, body);
    const cases: Array<[string, Record<string, string | null>]> = [
      ['forged (other secret)', { 'x-hub-signature-256': signPayload('not-the-secret', body) }],
      ['missing', { 'x-hub-signature-256': null }],
      ['sha1 only', { 'x-hub-signature-256': null }],
      ['wrong length', { 'x-hub-signature-256': good.slice(0, -2) }],
      ['too long', { 'x-hub-signature-256': `${good}00` }],
      ['non-hex', { 'x-hub-signature-256': `sha256=${'z'.repeat(64)}` }],
      ['upper-case hex', { 'x-hub-signature-256': good.toUpperCase().replace('SHA256', 'sha256') }],
      ['no prefix', { 'x-hub-signature-256': good.slice('sha256='.length) }],
      ['sha1 labelled sha256', { 'x-hub-signature-256': `sha256=${'a'.repeat(40)}` }],
      ['empty', { 'x-hub-signature-256': '' }],
    ];
    for (const [name, headers] of cases) {
      const { response } = await deliver(app, {
        url,
        secret,
        event: 'workflow_run',
        payload: body,
        headers,
      });
      t.equal(response.statusCode, 401, name);
      t.equal(response.json().code, 'FFX_ERR_WEBHOOK_SIGNATURE', name);
    }
    // Signed for other bytes: the compact JSON, sent re-serialised or with changed spacing.
    const pretty = JSON.stringify(payload, null, 2);
    const respaced = body.replace('"action":', '"action": ');
    for (const [name, sent] of [
      ['re-serialised', pretty],
      ['whitespace', respaced],
    ] as const) {
      const { response } = await deliver(app, {
        url,
        secret,
        event: 'workflow_run',
        payload: sent,
        headers: { 'x-hub-signature-256': good },
      });
      t.equal(response.statusCode, 401, name);
    }
    // No signature at all on the app-level route either.
    const app401 = await deliver(app, {
      url: '/api/v1/webhook/github',
      secret: null,
      event: 'workflow_run',
      payload,
    });
    t.equal(app401.response.statusCode, 401);
    // Invalid UTF-8 cannot be verified byte for byte: refused.
    const bytes = Buffer.concat([Buffer.from(body.slice(0, -1)), Buffer.from([0xff, 0x7d])]);
    const invalid = await deliver(app, {
      url,
      secret: null,
      event: 'workflow_run',
      payload: bytes,
      headers: { 'x-hub-signature-256': signPayload(secret, bytes) },
    });
    t.equal(invalid.response.statusCode, 401);
    t.same(await rows(), before, 'nothing stored');
    t.notOk(JSON.stringify(app401.response.json()).includes(APP_SECRET));
  });

  await t.test('the same delivery twice: 2xx both times, processed once', async (t) => {
    const before = await rows();
    const deliveryId = randomUUID();
    const first = await deliver(app, { url, secret, event: 'workflow_run', payload, deliveryId });
    t.equal(first.response.statusCode, 200);
    t.same(first.response.json(), { outcome: 'processed' });
    const again = await deliver(app, { url, secret, event: 'workflow_run', payload, deliveryId });
    t.equal(again.response.statusCode, 200);
    t.same(again.response.json(), { outcome: 'duplicate' });
    const after = await rows();
    t.equal(after.deliveries, before.deliveries + 1);
    t.equal(after.runs, before.runs + 1);
    // Concurrent duplicates (same group or not): still one row.
    const id2 = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        deliver(app, {
          url,
          secret,
          event: 'ping',
          payload: { zen: 'z', hook_id: 1 },
          deliveryId: id2,
        }),
      ),
    );
    t.same(
      results.map((r) => r.response.statusCode),
      [200, 200, 200, 200, 200],
    );
    t.same(results.map((r) => r.response.json().outcome).sort(), [
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'processed',
    ]);
    t.equal((await rows()).deliveries, after.deliveries + 1);
  });

  await t.test('form-encoded deliveries verify and parse', async (t) => {
    const { response } = await deliver(app, {
      url,
      secret,
      event: 'pull_request',
      payload: {
        ...loadWebhookExamples('pull_request')[0]!.payload,
        repository: payload['repository'],
      },
      encoding: 'form',
    });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { outcome: 'processed' });
    const noField = await deliver(app, {
      url,
      secret,
      event: 'ping',
      payload: Buffer.from('other=1'),
      encoding: 'form',
    });
    t.equal(noField.response.statusCode, 400);
    const text = await deliver(app, {
      url,
      secret,
      event: 'ping',
      payload: Buffer.from('{}'),
      headers: { 'content-type': 'text/plain' },
    });
    t.equal(text.response.statusCode, 415);
  });

  await t.test('unknown, malformed and disabled connections; foreign repositories', async (t) => {
    const before = await rows();
    const unknown = await deliver(app, {
      url: `/api/v1/webhook/github/${randomUUID()}`,
      secret,
      event: 'workflow_run',
      payload,
    });
    t.equal(unknown.response.statusCode, 404);
    const malformed = await deliver(app, {
      url: '/api/v1/webhook/github/not-a-uuid',
      secret,
      event: 'workflow_run',
      payload,
    });
    t.equal(malformed.response.statusCode, 404);
    t.same(await rows(), before, 'nothing stored for unknown connections');

    const disabled = await seedConnection(app, user.id, { githubRepoId: 777, enabled: false });
    const off = await deliver(app, {
      url: `/api/v1/webhook/github/${disabled.connection.id}`,
      secret: disabled.secret,
      event: 'workflow_run',
      payload: { ...payload, repository: { id: 777, full_name: 'owner/repo-777' } },
    });
    t.equal(off.response.statusCode, 200);
    t.same(off.response.json(), { outcome: 'ignored', reason: 'connection is disabled' });

    const foreign = await deliver(app, {
      url,
      secret,
      event: 'workflow_run',
      payload: { ...payload, repository: { id: 424242, full_name: 'someone/else' } },
    });
    t.same(foreign.response.json(), {
      outcome: 'ignored',
      reason: 'repository does not belong to this connection',
    });
    const after = await rows();
    t.equal(after.runs, before.runs, 'never processed');
    t.equal(after.deliveries, before.deliveries + 2, 'recorded as ignored');
  });

  await t.test('unknown events: 2xx, recorded as ignored', async (t) => {
    const { response, deliveryId } = await deliver(app, {
      url,
      secret,
      event: 'star',
      payload: { action: 'created', repository: payload['repository'] },
    });
    t.equal(response.statusCode, 200);
    t.equal(response.json().outcome, 'ignored');
    const [row] = await app.db
      .select()
      .from(webhookDeliveries)
      .where((await import('drizzle-orm')).eq(webhookDeliveries.deliveryId, deliveryId));
    t.match(row, {
      event: 'star',
      action: 'created',
      outcome: 'ignored',
      connectionId: connection.id,
    });
    t.ok(row!.payloadText, 'payload kept for debugging');
  });

  await t.test('missing event or delivery headers: 400 after verification', async (t) => {
    for (const header of ['x-github-event', 'x-github-delivery']) {
      const { response } = await deliver(app, {
        url,
        secret,
        event: 'ping',
        payload: { zen: 'z' },
        headers: { [header]: null },
      });
      t.equal(response.statusCode, 400, header);
    }
    const notObject = await deliver(app, { url, secret, event: 'ping', payload: '[1,2]' });
    t.equal(notObject.response.statusCode, 400);
  });
});

t.test('body limit: 413 before any work', async (t) => {
  const { app } = await buildTestApp(t, { env: { WEBHOOK_BODY_LIMIT: '4096' } });
  const { user } = await createUserWithToken(app, { login: 'limit-owner' });
  const { connection, secret } = await seedConnection(app, user.id, { githubRepoId: 99 });
  const big = { zen: 'x'.repeat(5000) };
  const { response } = await deliver(app, {
    url: `/api/v1/webhook/github/${connection.id}`,
    secret,
    event: 'ping',
    payload: big,
  });
  t.equal(response.statusCode, 413);
  t.equal(response.json().code, 'FFX_ERR_BODY_TOO_LARGE');
  const form = await deliver(app, {
    url: `/api/v1/webhook/github/${connection.id}`,
    secret,
    event: 'ping',
    payload: big,
    encoding: 'form',
  });
  t.equal(form.response.statusCode, 413);
  const ok = await deliver(app, {
    url: `/api/v1/webhook/github/${connection.id}`,
    secret,
    event: 'ping',
    payload: { zen: 'small', hook_id: 5 },
  });
  t.equal(ok.response.statusCode, 200);
});

t.test("the default limit is GitHub's 25 MB", async (t) => {
  const { app, config } = await buildTestApp(t);
  t.equal(config.webhookBodyLimit, 25 * 1024 * 1024);
  const { user } = await createUserWithToken(app, { login: 'big-owner' });
  const { connection, secret } = await seedConnection(app, user.id, { githubRepoId: 98 });
  // Just over the cap: refused from Content-Length, before any byte is verified or parsed.
  const huge = Buffer.alloc(25 * 1024 * 1024 + 1, 0x20);
  const refused = await deliver(app, {
    url: `/api/v1/webhook/github/${connection.id}`,
    secret,
    event: 'ping',
    payload: huge,
  });
  t.equal(refused.response.statusCode, 413);
  // A large but allowed delivery (a 5 MB payload) goes through.
  const large = await deliver(app, {
    url: `/api/v1/webhook/github/${connection.id}`,
    secret,
    event: 'ping',
    payload: { zen: 'y'.repeat(5 * 1024 * 1024), hook_id: 1 },
  });
  t.equal(large.response.statusCode, 200);
});

t.test('app-level hook without GITHUB_WEBHOOK_SECRET: 503 that says what to set', async (t) => {
  const { app } = await buildTestApp(t);
  const { response } = await deliver(app, {
    url: '/api/v1/webhook/github',
    secret: 'whatever-secret-value',
    event: 'ping',
    payload: { zen: 'z' },
  });
  t.equal(response.statusCode, 503);
  t.match(response.json().message, /GITHUB_WEBHOOK_SECRET/);
});
