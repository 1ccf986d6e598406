// The log of webhook deliveries: written by ingestion (one multi-row insert per batch, the
// unique (hook_key, delivery_id) index doing the dedupe), read by the deliveries pages and
// the webhook health of each connection.
import { and, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { executeConstant } from './workflow-runs-store.ts';
import { repositoryConnections, webhookDeliveries } from '../schema/index.ts';

export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type DeliveryOutcome = 'processed' | 'ignored' | 'error';

export interface DeliveryInput {
  hookKey: string;
  connectionId: string | null;
  deliveryId: string;
  event: string;
  action: string | null;
  outcome: DeliveryOutcome;
  durationMs: number | null;
  error: string | null;
  /**
   * The payload's JSON text exactly as received (null: not kept). Valid JSON text holds no
   * raw NUL (JSON escapes it), so Postgres text takes it as it is.
   */
  payloadText: string | null;
  receivedAt: Date;
}

export interface DeliveryKey {
  id: string;
  hookKey: string;
  deliveryId: string;
  /** As recorded: a connection disabled meanwhile turns `processed` into `ignored`. */
  outcome: DeliveryOutcome;
}

export interface DeliveryFilters {
  connectionId?: string | undefined;
  event?: string | undefined;
  outcome?: string | undefined;
}

export type DeliveryListRow = Omit<WebhookDelivery, 'payload' | 'payloadGz' | 'payloadText'> & {
  repositoryFullName: string | null;
};

export interface ConnectionHealth {
  connectionId: string;
  lastReceivedAt: Date | null;
  deliveries: number;
  failures: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/** The statement's text by its number of payload parameters (insertDeliveries). */
const insertStatements = new Map<number, string>();

/**
 * Deliveries recorded in one statement: their fields in $1 (JSON), their payloads each in
 * a text parameter of its own ($2 …) — sent as they are, where inside the JSON they would
 * be escaped by Flowfix and parsed again by Postgres. The connection is read in the same
 * statement: a delivery for a connection deleted meanwhile is not recorded (nothing
 * returned), one disabled meanwhile is recorded as ignored. A key already stored is a
 * redelivery and is left alone — unless its earlier attempt ended in an error, which a
 * redelivery may retry. Only the rows written are returned.
 *
 * The number of payload parameters is rounded up to a power of two (unused ones null), so
 * a few prepared statements serve every group size.
 */
function insertDeliveries(slots: number): string {
  const cached = insertStatements.get(slots);
  if (cached !== undefined) return cached;
  const params = Array.from({ length: slots }, (_, i) => `$${i + 2}::text`).join(', ');
  const text = `
with payloads as (
  select slot::int, payload_text from unnest(array[${params}]) with ordinality as p(payload_text, slot)
)
insert into webhook_deliveries (id, hook_key, connection_id, delivery_id, event, action, outcome,
  duration_ms, error, payload_text, received_at)
select gen_random_uuid(), r.hook_key, r.connection_id, r.delivery_id, r.event, r.action,
  case when c.id is not null and not c.enabled then 'ignored' else r.outcome end,
  r.duration_ms,
  case when c.id is not null and not c.enabled then 'connection is disabled' else r.error end,
  p.payload_text, r.received_at
from json_to_recordset($1::text::json) as r(hook_key text, connection_id uuid, delivery_id text,
  event text, action text, outcome text, duration_ms integer, error text, payload_slot integer,
  received_at timestamptz)
left join payloads p on p.slot = r.payload_slot
left join repository_connections c on c.id = r.connection_id
where r.connection_id is null or c.id is not null
order by r.hook_key, r.delivery_id
on conflict (hook_key, delivery_id) do update set connection_id = excluded.connection_id,
  event = excluded.event, action = excluded.action, outcome = excluded.outcome,
  duration_ms = excluded.duration_ms, error = excluded.error,
  payload_text = excluded.payload_text, payload_gz = null, payload = null,
  received_at = excluded.received_at
where webhook_deliveries.outcome = 'error'
returning id, hook_key, delivery_id, outcome`;
  insertStatements.set(slots, text);
  return text;
}

export function createWebhookDeliveriesStore(db: Db) {
  const {
    payload: _payload,
    payloadGz: _payloadGz,
    payloadText: _payloadText,
    ...listColumns
  } = getTableColumns(webhookDeliveries);

  return {
    /**
     * Records deliveries; returns the keys of the rows written. A key already stored is a
     * redelivery and is left alone (not returned) — unless its earlier attempt ended in an
     * error, which a redelivery may retry.
     */
    async insertMany(rows: DeliveryInput[], tx: Db = db): Promise<DeliveryKey[]> {
      if (rows.length === 0) return [];
      const sorted = [...rows].sort(
        (a, b) => a.hookKey.localeCompare(b.hookKey) || a.deliveryId.localeCompare(b.deliveryId),
      );
      const payloads: string[] = [];
      const json = JSON.stringify(
        sorted.map((r) => ({
          hook_key: r.hookKey,
          connection_id: r.connectionId,
          delivery_id: r.deliveryId,
          event: r.event,
          // Postgres text cannot hold NUL; these come from payloads and must not fail the group.
          action: r.action?.replaceAll('\u0000', '') ?? null,
          outcome: r.outcome,
          duration_ms: r.durationMs,
          error: r.error?.replaceAll('\u0000', '') ?? null,
          payload_slot: r.payloadText === null ? null : payloads.push(r.payloadText),
          received_at: r.receivedAt,
        })),
      );
      const slots = 2 ** Math.ceil(Math.log2(Math.max(1, payloads.length)));
      const values = [json, ...payloads, ...Array<null>(slots - payloads.length).fill(null)];
      return (await executeConstant(tx, insertDeliveries(slots), values)).map((r) => ({
        id: String(r['id']),
        hookKey: String(r['hook_key']),
        deliveryId: String(r['delivery_id']),
        outcome: String(r['outcome']) as DeliveryOutcome,
      }));
    },

    /** Newest first, keyset-paginated on (received_at, id), only the user's connections. */
    async list(
      userId: string,
      filters: DeliveryFilters,
      page: { after?: { at: Date; id: string } | undefined; limit: number },
      tx: Db = db,
    ): Promise<DeliveryListRow[]> {
      const where: SQL[] = [eq(repositoryConnections.userId, userId)];
      if (filters.connectionId)
        where.push(eq(webhookDeliveries.connectionId, filters.connectionId));
      if (filters.event) where.push(eq(webhookDeliveries.event, filters.event));
      if (filters.outcome) where.push(eq(webhookDeliveries.outcome, filters.outcome));
      if (page.after) {
        where.push(
          sql`(${webhookDeliveries.receivedAt}, ${webhookDeliveries.id}) < (${page.after.at.toISOString()}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      return tx
        .select({ ...listColumns, repositoryFullName: repositoryConnections.fullName })
        .from(webhookDeliveries)
        .innerJoin(
          repositoryConnections,
          eq(repositoryConnections.id, webhookDeliveries.connectionId),
        )
        .where(and(...where))
        .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id))
        .limit(page.limit);
    },

    /** One delivery (with its payload, if still retained) of one of the user's connections. */
    async findById(
      userId: string,
      id: string,
      tx: Db = db,
    ): Promise<(WebhookDelivery & { repositoryFullName: string }) | undefined> {
      const [row] = await tx
        .select({
          ...getTableColumns(webhookDeliveries),
          repositoryFullName: repositoryConnections.fullName,
        })
        .from(webhookDeliveries)
        .innerJoin(
          repositoryConnections,
          eq(repositoryConnections.id, webhookDeliveries.connectionId),
        )
        .where(and(eq(repositoryConnections.userId, userId), eq(webhookDeliveries.id, id)));
      return row;
    },

    /**
     * The number the next replay of a delivery takes: replays are recorded as
     * `{deliveryId}:replay:{n}` under the hook key they are replayed to (GitHub's delivery
     * ids never contain ':', so these never meet a real one).
     */
    async nextReplayNumber(hookKey: string, deliveryId: string, tx: Db = db): Promise<number> {
      const prefix = `${deliveryId}:replay:`;
      // ::int picks substring(text from position), not the regular-expression form.
      const suffix = sql`substring(${webhookDeliveries.deliveryId} from ${prefix.length + 1}::int)`;
      const [row] = await tx
        .select({ last: sql<number | null>`max(${suffix}::int)` })
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.hookKey, hookKey),
            sql`starts_with(${webhookDeliveries.deliveryId}, ${prefix})`,
            sql`${suffix} ~ '^[0-9]{1,9}$'`,
          ),
        );
      return Number(row?.last ?? 0) + 1;
    },

    /** The row id of a recorded delivery, by its dedupe key. */
    async idByKey(hookKey: string, deliveryId: string, tx: Db = db): Promise<string | undefined> {
      const [row] = await tx
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(
          and(eq(webhookDeliveries.hookKey, hookKey), eq(webhookDeliveries.deliveryId, deliveryId)),
        );
      return row?.id;
    },

    /** Per connection: the latest delivery, and deliveries / errors since `since`. */
    async healthByConnection(
      connectionIds: string[],
      since: Date,
      tx: Db = db,
    ): Promise<ConnectionHealth[]> {
      if (connectionIds.length === 0) return [];
      const isError = sql`${webhookDeliveries.outcome} = 'error'`;
      const rows = await tx
        .select({
          connectionId: sql<string>`${webhookDeliveries.connectionId}`,
          lastReceivedAt: sql<Date | null>`max(${webhookDeliveries.receivedAt})`,
          deliveries: sql<number>`count(*) filter (where ${webhookDeliveries.receivedAt} >= ${since.toISOString()}::timestamptz)::int`,
          failures: sql<number>`count(*) filter (where ${isError} and ${webhookDeliveries.receivedAt} >= ${since.toISOString()}::timestamptz)::int`,
          lastError: sql<
            string | null
          >`(array_agg(${webhookDeliveries.error} order by ${webhookDeliveries.receivedAt} desc) filter (where ${isError}))[1]`,
          lastErrorAt: sql<Date | null>`max(${webhookDeliveries.receivedAt}) filter (where ${isError})`,
        })
        .from(webhookDeliveries)
        .where(inArray(webhookDeliveries.connectionId, connectionIds))
        .groupBy(webhookDeliveries.connectionId);
      return rows.map((r) => ({
        connectionId: r.connectionId,
        lastReceivedAt: r.lastReceivedAt === null ? null : new Date(r.lastReceivedAt),
        deliveries: Number(r.deliveries),
        failures: Number(r.failures),
        lastError: r.lastError,
        lastErrorAt: r.lastErrorAt === null ? null : new Date(r.lastErrorAt),
      }));
    },
  };
}

export type WebhookDeliveriesStore = ReturnType<typeof createWebhookDeliveriesStore>;
