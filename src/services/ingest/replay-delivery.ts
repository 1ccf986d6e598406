// Replaying a stored delivery: its kept payload goes through ingestion again — the same
// group commit, transaction and incident hooks as a delivery from GitHub — and is recorded
// as a new delivery `{GitHub's delivery id}:replay:{n}` of the same connection. The original
// row stays as it was, so GitHub redelivering it is still a duplicate, and each replay is a
// delivery of its own in the log. Runs and jobs only move forward, so replaying an old
// snapshot cannot undo a later one, and a run attempt already counted by an incident is not
// counted again. Only the connection's owner can replay: anyone else gets "not found".
import type { Db } from '../../db/client.ts';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { createWebhookDeliveriesStore } from '../../db/stores/webhook-deliveries-store.ts';
import { errors } from '../../errors.ts';
import type { IngestService } from './ingest-service.ts';
import { storedPayloadText } from './payload-text.ts';
import type { DeliveryOutcome } from './types.ts';

export interface ReplayDeps {
  db: Db;
  ingest: Pick<IngestService, 'record'>;
  /** WEBHOOK_PAYLOAD_RETENTION_DAYS, to say why a payload is gone. */
  retentionDays: number;
  now?: () => Date;
}

/** The deps as a Fastify app holds them (the API route and the page both replay). */
export function replayDepsOf(app: {
  db: Db;
  ingest: Pick<IngestService, 'record'>;
  config: { webhookPayloadRetentionDays: number };
}): ReplayDeps {
  return {
    db: app.db,
    ingest: app.ingest,
    retentionDays: app.config.webhookPayloadRetentionDays,
  };
}

export interface ReplayResult {
  /** The replay's delivery row. */
  id: string | null;
  deliveryId: string;
  replayOf: string;
  outcome: Exclude<DeliveryOutcome, 'unknown_connection'>;
  reason?: string | undefined;
}

const REPLAY_SUFFIX = /:replay:\d+$/;
const DAY_MS = 24 * 3600 * 1000;

/** GitHub's delivery id behind a replay id (replays of replays count on the original). */
export function originalDeliveryId(deliveryId: string): string {
  return deliveryId.replace(REPLAY_SUFFIX, '');
}

/** Which replay a delivery id is (1, 2, …), or null for a delivery from GitHub. */
export function replayNumber(deliveryId: string): number | null {
  const match = /:replay:(\d+)$/.exec(deliveryId);
  return match ? Number(match[1]) : null;
}

export async function replayDelivery(
  deps: ReplayDeps,
  userId: string,
  id: string,
): Promise<ReplayResult> {
  const deliveries = createWebhookDeliveriesStore(deps.db);
  const original = await deliveries.findById(userId, id);
  const connection =
    original && original.connectionId !== null
      ? await createRepositoryConnectionsStore(deps.db).findById(userId, original.connectionId)
      : undefined;
  if (!original || !connection) throw new errors.NOT_FOUND('Delivery');

  const text = await storedPayloadText(original);
  const payload: unknown = text === null ? null : JSON.parse(text);
  if (text === null || payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    const now = (deps.now ?? (() => new Date()))().getTime();
    const expired = original.receivedAt.getTime() < now - deps.retentionDays * DAY_MS;
    throw new errors.GONE(
      expired
        ? `This delivery's payload is no longer kept (payloads are kept ${deps.retentionDays} days), so it cannot be replayed; redeliver it from the hook's settings on GitHub instead`
        : "Flowfix did not keep this delivery's payload, so it cannot be replayed; redeliver it from the hook's settings on GitHub instead",
    );
  }

  const base = originalDeliveryId(original.deliveryId);
  const deliveryId = `${base}:replay:${await deliveries.nextReplayNumber(connection.id, base)}`;
  const result = await deps.ingest.record({
    route: {
      kind: 'connection',
      connectionId: connection.id,
      userId,
      githubRepoId: connection.githubRepoId,
    },
    deliveryId,
    event: original.event,
    payloadJson: text,
    payload: payload as Record<string, unknown>,
    startedAt: performance.now(),
    receivedAt: new Date(),
  });
  // The connection was deleted between the lookup and the transaction.
  if (result.outcome === 'unknown_connection') throw new errors.NOT_FOUND('Delivery');
  return {
    id: (await deliveries.idByKey(connection.id, deliveryId)) ?? null,
    deliveryId,
    replayOf: original.id,
    outcome: result.outcome,
    reason: result.reason,
  };
}
