// Repository connections (a user watching one GitHub repository through a webhook we
// created) and the log of every webhook delivery we received.
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt, users } from './accounts.ts';

/** bytea as a Buffer on either driver (PGlite gives a Uint8Array). */
const bytes = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

export const repositoryConnections = pgTable(
  'repository_connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    githubRepoId: bigint('github_repo_id', { mode: 'number' }).notNull(),
    fullName: text('full_name').notNull(),
    defaultBranch: text('default_branch').notNull().default('main'),
    private: boolean('private').notNull().default(false),
    htmlUrl: text('html_url'),
    webhookId: bigint('webhook_id', { mode: 'number' }),
    webhookSecretEnc: text('webhook_secret_enc').notNull(),
    /** After a rotation the old secret still verifies until previousSecretExpiresAt. */
    previousWebhookSecretEnc: text('previous_webhook_secret_enc'),
    previousSecretExpiresAt: ts('previous_secret_expires_at'),
    webhookVerifiedAt: ts('webhook_verified_at'),
    lastDeliveryAt: ts('last_delivery_at'),
    enabled: boolean('enabled').notNull().default(true),
    /** Empty: every branch. */
    watchedBranches: text('watched_branches').array().notNull().default([]),
    /** off | suggest | pull_request */
    autofixMode: text('autofix_mode').notNull().default('off'),
    fixBudgetPerDay: integer('fix_budget_per_day').notNull().default(5),
    fixBudgetPerMonth: integer('fix_budget_per_month').notNull().default(50),
    autoRerunInfrastructure: boolean('auto_rerun_infrastructure').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('repository_connections_user_repo_uq').on(t.userId, t.githubRepoId),
    index('repository_connections_repo_idx').on(t.githubRepoId),
  ],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The connection id for per-repository hooks, 'app' for the app-level hook. */
    hookKey: text('hook_key').notNull(),
    connectionId: uuid('connection_id').references(() => repositoryConnections.id, {
      onDelete: 'set null',
    }),
    deliveryId: text('delivery_id').notNull(),
    event: text('event').notNull(),
    action: text('action'),
    /** processed | ignored | error */
    outcome: text('outcome').notNull(),
    durationMs: integer('duration_ms'),
    error: text('error'),
    /**
     * The payload's JSON text exactly as received, sent to Postgres as its own text
     * parameter (no escaping, no JSON parsing there) and compressed by Postgres: lz4, kept
     * in the row where it fits (migrations/0003). Null once past retention.
     */
    payloadText: text('payload_text'),
    /** Payloads recorded gzipped by earlier versions; read still, dropped by retention. */
    payloadGz: bytes('payload_gz'),
    /** Payloads recorded before payload_gz existed (as jsonb); dropped by retention like it. */
    payload: jsonb('payload'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_hook_delivery_uq').on(t.hookKey, t.deliveryId),
    index('webhook_deliveries_connection_idx').on(t.connectionId, t.receivedAt),
    index('webhook_deliveries_received_idx').on(t.receivedAt),
  ],
);
