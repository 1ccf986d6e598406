// Per connected repository: runs and failures in a window, webhook health (deliveries,
// errors, the last one) — for GET /api/v2/repositories/stats and the repositories page.
import type { Db } from '../../db/client.ts';
import {
  createRepositoryConnectionsStore,
  type RepositoryConnection,
} from '../../db/stores/repository-connections-store.ts';
import {
  createWebhookDeliveriesStore,
  type ConnectionHealth,
} from '../../db/stores/webhook-deliveries-store.ts';
import { createWorkflowRunsStore } from '../../db/stores/workflow-runs-store.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface RepositoryStats {
  connection: RepositoryConnection;
  runs: number;
  failures: number;
  lastRunAt: Date | null;
  health: ConnectionHealth;
}

export interface RepositoryStatsResult {
  since: Date;
  until: Date;
  totals: { total: number; enabled: number; verified: number };
  repositories: RepositoryStats[];
}

const emptyHealth = (connectionId: string): ConnectionHealth => ({
  connectionId,
  lastReceivedAt: null,
  deliveries: 0,
  failures: 0,
  lastError: null,
  lastErrorAt: null,
});

/** Webhook health of some connections over the last `days` days (missing → nothing yet). */
export async function connectionHealth(
  db: Db,
  connectionIds: string[],
  days = 1,
  now = new Date(),
): Promise<Map<string, ConnectionHealth>> {
  const rows = await createWebhookDeliveriesStore(db).healthByConnection(
    connectionIds,
    new Date(now.getTime() - days * DAY_MS),
  );
  const byId = new Map(rows.map((h) => [h.connectionId, h]));
  return new Map(connectionIds.map((id) => [id, byId.get(id) ?? emptyHealth(id)]));
}

export async function repositoryStats(
  db: Db,
  userId: string,
  days: number,
  now = new Date(),
): Promise<RepositoryStatsResult> {
  const since = new Date(now.getTime() - days * DAY_MS);
  const connections = createRepositoryConnectionsStore(db);
  const [totals, all, counts] = await Promise.all([
    connections.counts(userId),
    connections.allForUser(userId),
    createWorkflowRunsStore(db).countsByConnection(userId, since),
  ]);
  const health = await connectionHealth(
    db,
    all.map((c) => c.id),
    days,
    now,
  );
  const countsById = new Map(counts.map((c) => [c.connectionId, c]));
  return {
    since,
    until: now,
    totals,
    repositories: all.map((connection) => ({
      connection,
      runs: countsById.get(connection.id)?.runs ?? 0,
      failures: countsById.get(connection.id)?.failures ?? 0,
      lastRunAt: countsById.get(connection.id)?.lastRunAt ?? null,
      health: health.get(connection.id)!,
    })),
  };
}
