import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import t from 'tap';
import { webhookDeliveries } from '../../src/db/schema/index.ts';
import {
  createWebhookDeliveriesStore,
  type DeliveryInput,
} from '../../src/db/stores/webhook-deliveries-store.ts';
import { testDatabase } from '../helper.ts';

const delivery = (over: Partial<DeliveryInput>): DeliveryInput => ({
  hookKey: 'app',
  connectionId: null,
  deliveryId: randomUUID(),
  event: 'ping',
  action: null,
  outcome: 'processed',
  durationMs: 1,
  error: null,
  payloadText: null,
  receivedAt: new Date(),
  ...over,
});

t.test('each payload lands on its own row, whatever the group', async (t) => {
  const { db } = await testDatabase();
  const store = createWebhookDeliveriesStore(db);
  const stored = async (ids: string[]) =>
    new Map(
      (
        await db
          .select({ deliveryId: webhookDeliveries.deliveryId, text: webhookDeliveries.payloadText })
          .from(webhookDeliveries)
          .where(inArray(webhookDeliveries.deliveryId, ids))
      ).map((r) => [r.deliveryId, r.text]),
    );

  // Sizes around the powers of two the parameters are rounded to, payloads mixed with rows
  // that keep none, in an order the store sorts differently (by hook key and delivery id).
  for (const size of [1, 2, 3, 5, 8, 9]) {
    const rows = Array.from({ length: size }, (_, i) =>
      delivery({
        deliveryId: `${size}-${String(size - i).padStart(2, '0')}-${randomUUID()}`,
        // Text that would need escaping anywhere but in a parameter of its own.
        payloadText:
          i % 3 === 1 ? null : JSON.stringify({ i, size, text: `it's $${i} \\ "quoted" $$` }),
      }),
    );
    const written = await store.insertMany(rows);
    t.equal(written.length, size, `${size}: every row written`);
    const texts = await stored(rows.map((r) => r.deliveryId));
    t.same(
      rows.map((r) => texts.get(r.deliveryId)),
      rows.map((r) => r.payloadText),
      `${size}: each row holds its own payload`,
    );
  }
});

t.test('a retried error replaces its payload; a redelivery changes nothing', async (t) => {
  const { db } = await testDatabase();
  const store = createWebhookDeliveriesStore(db);
  const failed = delivery({ outcome: 'error', error: 'database unavailable' });
  const done = delivery({ payloadText: '{"first":true}' });
  await store.insertMany([failed, done]);
  const again = await store.insertMany([
    { ...failed, outcome: 'processed', error: null, payloadText: '{"retried":true}' },
    { ...done, payloadText: '{"second":true}' },
  ]);
  t.same(
    again.map((k) => k.deliveryId),
    [failed.deliveryId],
    'only the errored one is written again',
  );
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.deliveryId, [failed.deliveryId, done.deliveryId]));
  const byId = new Map(rows.map((r) => [r.deliveryId, r]));
  t.match(byId.get(failed.deliveryId), {
    outcome: 'processed',
    error: null,
    payloadText: '{"retried":true}',
  });
  t.match(byId.get(done.deliveryId), { payloadText: '{"first":true}' });
});
