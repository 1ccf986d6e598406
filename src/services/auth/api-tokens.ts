// API tokens for scripts: issue (shown once), authenticate, list, change, delete.
//
// Authentication checks the format and checksum first (no database query for garbage),
// then finds the row by its lookup prefix and compares SHA-256 hashes in constant time.
// Every failure — bad shape, unknown, wrong secret, inactive, expired — gives the same
// answer, so a caller learns nothing about which part was wrong.
import { generateApiToken, parseApiToken, tokensMatch } from '../../crypto/api-token.ts';
import type { Db } from '../../db/client.ts';
import { createUsersStore } from '../../db/stores/users-store.ts';
import {
  createApiTokensStore,
  type ApiTokenRow,
  type TokenPosition,
} from '../../db/stores/api-tokens-store.ts';
import { errors } from '../../errors.ts';
import { decodeKeyset, encodeKeyset } from '../workflows/keyset-cursor.ts';
import { isScope, normaliseScopes, type Scope } from './scopes.ts';

export const INVALID_TOKEN_MESSAGE = 'Invalid, inactive or expired API token';
/** last_used_at is written at most this often per token. */
export const LAST_USED_INTERVAL_MS = 60_000;
export const MAX_TOKEN_NAME = 100;

export interface TokenPrincipal {
  user: { id: string; login: string; name: string | null; avatarUrl: string | null };
  tokenId: string;
  scopes: Scope[];
}

export interface TokenView {
  id: string;
  name: string;
  /** `ffx_` + the lookup prefix: enough to recognise a token, useless to use it. */
  prefix: string;
  last4: string;
  masked: string;
  scopes: Scope[];
  active: boolean;
  expired: boolean;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export type ApiTokensStore = ReturnType<typeof createApiTokensStore>;

export interface CreateTokenInput {
  name: string;
  scopes: readonly string[];
  expiresAt: Date | null;
}

export function createApiTokenService(
  db: Db,
  opts: { now?: () => Date; store?: ApiTokensStore } = {},
) {
  const store = opts.store ?? createApiTokensStore(db);
  const usersStore = createUsersStore(db);
  const now = opts.now ?? (() => new Date());

  const view = (row: ApiTokenRow): TokenView => ({
    id: row.id,
    name: row.name,
    prefix: `ffx_${row.lookupPrefix}`,
    last4: row.last4,
    masked: `ffx_…${row.last4}`,
    scopes: normaliseScopes(row.scopes.filter(isScope)),
    active: row.active,
    expired: row.expiresAt !== null && row.expiresAt <= now(),
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    createdAt: row.createdAt,
  });

  return {
    view,

    /** The principal behind a presented token, or null (always the same null). */
    async authenticate(presented: string): Promise<TokenPrincipal | null> {
      const parsed = parseApiToken(presented);
      if (!parsed) return null;
      const row = await store.findByLookupPrefix(parsed.lookupPrefix);
      // Compare even when the row is missing, so timing does not reveal which prefixes exist.
      const matches = tokensMatch(row?.tokenHash ?? '0'.repeat(64), parsed.hash);
      if (!row || !matches || !row.active) return null;
      const t = now();
      if (row.expiresAt !== null && row.expiresAt <= t) return null;
      const user = await usersStore.getById(row.userId);
      if (!user) return null;
      if (
        row.lastUsedAt === null ||
        t.getTime() - row.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS
      ) {
        await store.markUsed(row.id, t, new Date(t.getTime() - LAST_USED_INTERVAL_MS));
      }
      return {
        user: { id: user.id, login: user.login, name: user.name, avatarUrl: user.avatarUrl },
        tokenId: row.id,
        scopes: normaliseScopes(row.scopes.filter(isScope)),
      };
    },

    /**
     * Issues a token. `creatorScopes` are what the caller holds: a token never carries more.
     * Returns the plaintext once; only its hash, prefix and last four characters are kept.
     */
    async create(
      userId: string,
      input: CreateTokenInput,
      creatorScopes: readonly Scope[],
    ): Promise<{ token: string; view: TokenView }> {
      const name = input.name.trim();
      if (name.length === 0 || name.length > MAX_TOKEN_NAME)
        throw new errors.BAD_REQUEST(`name must be 1 to ${MAX_TOKEN_NAME} characters`);
      if (/\p{Cc}/u.test(name))
        throw new errors.BAD_REQUEST('name must not contain control characters');
      const unknown = input.scopes.filter((s) => !isScope(s));
      if (unknown.length > 0)
        throw new errors.BAD_REQUEST(`unknown scope(s): ${unknown.join(', ')}`);
      const scopes = normaliseScopes(input.scopes.filter(isScope));
      if (scopes.length === 0) throw new errors.BAD_REQUEST('choose at least one scope');
      const beyond = scopes.filter((s) => !creatorScopes.includes(s));
      if (beyond.length > 0)
        throw new errors.FORBIDDEN(
          `a token can only carry scopes its creator holds; missing: ${beyond.join(', ')}`,
        );
      if (input.expiresAt !== null && input.expiresAt <= now())
        throw new errors.BAD_REQUEST('expires_at must be in the future');
      const generated = generateApiToken();
      const row = await store.create({
        userId,
        name,
        lookupPrefix: generated.lookupPrefix,
        tokenHash: generated.hash,
        last4: generated.last4,
        scopes,
        expiresAt: input.expiresAt,
      });
      return { token: generated.token, view: view(row) };
    },

    async list(
      userId: string,
      opts: { limit: number; after?: TokenPosition | undefined },
    ): Promise<{ items: TokenView[]; next: TokenPosition | null }> {
      const rows = await store.listForUser(userId, { limit: opts.limit + 1, after: opts.after });
      const page = rows.slice(0, opts.limit);
      const last = page.at(-1);
      return {
        items: page.map(view),
        next: rows.length > opts.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
      };
    },

    async get(userId: string, id: string): Promise<TokenView> {
      const row = await store.getForUser(userId, id);
      if (!row) throw new errors.NOT_FOUND('API token');
      return view(row);
    },

    async update(
      userId: string,
      id: string,
      changes: { name?: string | undefined; active?: boolean | undefined },
    ): Promise<TokenView> {
      let name = changes.name;
      if (name !== undefined) {
        name = name.trim();
        if (name.length === 0 || name.length > MAX_TOKEN_NAME || /\p{Cc}/u.test(name))
          throw new errors.BAD_REQUEST(
            `name must be 1 to ${MAX_TOKEN_NAME} characters, without control characters`,
          );
      }
      const row = await store.updateForUser(userId, id, { name, active: changes.active });
      if (!row) throw new errors.NOT_FOUND('API token');
      return view(row);
    },

    async remove(userId: string, id: string): Promise<void> {
      if (!(await store.deleteForUser(userId, id))) throw new errors.NOT_FOUND('API token');
    },
  };
}

export type ApiTokenService = ReturnType<typeof createApiTokenService>;

/** The opaque list cursor (keyset-cursor.ts) of the last row shown. */
export function encodeTokenCursor(position: TokenPosition): string {
  return encodeKeyset({ at: position.createdAt, id: position.id });
}

/** Throws BAD_REQUEST for anything that is not a cursor this API produced. */
export function decodeTokenCursor(cursor: string): TokenPosition {
  const { at, id } = decodeKeyset(cursor);
  return { createdAt: at, id };
}
