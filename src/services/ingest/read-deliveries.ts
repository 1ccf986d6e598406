// Reading the delivery log for a person: the deliveries of their connections, newest first,
// filtered and keyset-paginated like the runs; and one delivery with its payload while it is
// kept. Another user's delivery is "not found", never "forbidden".
import type { Db } from '../../db/client.ts';
import {
  createWebhookDeliveriesStore,
  type DeliveryFilters,
  type DeliveryListRow,
} from '../../db/stores/webhook-deliveries-store.ts';
import { errors } from '../../errors.ts';
import { keysetPage } from '../workflows/keyset-cursor.ts';
import { storedPayloadText } from './payload-text.ts';

export type { DeliveryFilters, DeliveryListRow };

export async function listDeliveries(
  db: Db,
  userId: string,
  filters: DeliveryFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: DeliveryListRow[]; next: string | null }> {
  const store = createWebhookDeliveriesStore(db);
  return keysetPage(
    page,
    (q) => store.list(userId, filters, q),
    (d) => ({ at: d.receivedAt, id: d.id }),
  );
}

/** The delivery and its payload's JSON text as GitHub sent it; null once retention dropped it. */
export async function getDelivery(
  db: Db,
  userId: string,
  id: string,
): Promise<{ delivery: DeliveryListRow; payloadText: string | null }> {
  const row = await createWebhookDeliveriesStore(db).findById(userId, id);
  if (!row) throw new errors.NOT_FOUND('Delivery');
  const { payload: _jsonb, payloadGz: _gz, payloadText: _text, ...delivery } = row;
  const text = await storedPayloadText(row);
  return { delivery, payloadText: text };
}
