// Accounts: people, their browser sessions, their GitHub OAuth connection, the API
// tokens they issue and the LLM provider keys they bring. Every credential column
// holds secret-box ciphertext (src/crypto/secret-box.ts), never plaintext.
import {
  bigint,
  boolean,
  index,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const createdAt = () => ts('created_at').notNull().defaultNow();
export const updatedAt = () => ts('updated_at').notNull().defaultNow();
export { ts };

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  githubId: bigint('github_id', { mode: 'number' }).notNull().unique(),
  login: text('login').notNull(),
  name: text('name'),
  email: text('email'),
  avatarUrl: text('avatar_url'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Server-side sessions: the cookie carries a random id; only its SHA-256 is stored. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(), // sha256(session id), hex
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    csrfSecret: text('csrf_secret').notNull(),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

export const oauthConnections = pgTable(
  'oauth_connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull().default('github'),
    providerUserId: bigint('provider_user_id', { mode: 'number' }).notNull(),
    accessTokenEnc: text('access_token_enc').notNull(),
    refreshTokenEnc: text('refresh_token_enc'),
    accessTokenExpiresAt: ts('access_token_expires_at'),
    refreshTokenExpiresAt: ts('refresh_token_expires_at'),
    scopes: text('scopes').notNull().default(''),
    /** active | needs_reconnect */
    status: text('status').notNull().default('active'),
    statusReason: text('status_reason'),
    lastRefreshedAt: ts('last_refreshed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('oauth_connections_user_provider_uq').on(t.userId, t.provider)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** First characters of the token after `ffx_`: finds the row without the secret. */
    lookupPrefix: text('lookup_prefix').notNull().unique(),
    tokenHash: text('token_hash').notNull(), // sha256 hex of the whole token
    last4: text('last4').notNull(),
    scopes: text('scopes').array().notNull(),
    active: boolean('active').notNull().default(true),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId, t.createdAt)],
);

export const providerKeys = pgTable(
  'provider_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** anthropic | openai | openrouter | openai_compatible */
    provider: text('provider').notNull(),
    label: text('label'),
    keyEnc: text('key_enc').notNull(),
    last4: text('last4').notNull(),
    baseUrl: text('base_url'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('provider_keys_user_idx').on(t.userId)],
);
