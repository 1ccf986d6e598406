// API tokens: only the lookup prefix, the SHA-256 of the whole token and its last four
// characters are stored. Every query that a user drives is scoped to that user.
import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apiTokens } from '../schema/index.ts';

export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type NewApiToken = Pick<
  ApiTokenRow,
  'userId' | 'name' | 'lookupPrefix' | 'tokenHash' | 'last4' | 'scopes' | 'expiresAt'
>;

/** Keyset position in the newest-first list. */
export interface TokenPosition {
  createdAt: Date;
  id: string;
}

export function createApiTokensStore(db: Db) {
  return {
    async create(row: NewApiToken, tx: Db = db): Promise<ApiTokenRow> {
      const [created] = await tx.insert(apiTokens).values(row).returning();
      return created!;
    },

    /** The row with this lookup prefix, whoever owns it: authentication compares the hash next. */
    async findByLookupPrefix(lookupPrefix: string, tx: Db = db): Promise<ApiTokenRow | undefined> {
      const [row] = await tx
        .select()
        .from(apiTokens)
        .where(eq(apiTokens.lookupPrefix, lookupPrefix))
        .limit(1);
      return row;
    },

    /**
     * Records a use unless one was recorded after `staleBefore`: the condition lives in the
     * query, so concurrent requests (and processes) write at most once per interval.
     */
    async markUsed(id: string, now: Date, staleBefore: Date, tx: Db = db): Promise<void> {
      await tx
        .update(apiTokens)
        .set({ lastUsedAt: now })
        .where(
          and(
            eq(apiTokens.id, id),
            or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, staleBefore)),
          ),
        );
    },

    /**
     * Newest first; `after` is the last row of the previous page. Ordered on the creation time
     * truncated to milliseconds — the precision a cursor (a JS Date) can carry — so rows
     * created within one millisecond are neither skipped nor repeated across pages.
     */
    async listForUser(
      userId: string,
      opts: { limit: number; after?: TokenPosition | undefined },
      tx: Db = db,
    ): Promise<ApiTokenRow[]> {
      const { after } = opts;
      const createdMs = sql`date_trunc('milliseconds', ${apiTokens.createdAt})`;
      return tx
        .select()
        .from(apiTokens)
        .where(
          and(
            eq(apiTokens.userId, userId),
            after
              ? sql`(${createdMs}, ${apiTokens.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
              : undefined,
          ),
        )
        .orderBy(desc(createdMs), desc(apiTokens.id))
        .limit(opts.limit);
    },

    async getForUser(userId: string, id: string, tx: Db = db): Promise<ApiTokenRow | undefined> {
      const [row] = await tx
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.userId, userId), eq(apiTokens.id, id)))
        .limit(1);
      return row;
    },

    async updateForUser(
      userId: string,
      id: string,
      changes: { name?: string | undefined; active?: boolean | undefined },
      tx: Db = db,
    ): Promise<ApiTokenRow | undefined> {
      const set: Partial<ApiTokenRow> = {};
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.active !== undefined) set.active = changes.active;
      const [row] = await tx
        .update(apiTokens)
        .set({ ...set, updatedAt: sql`now()` })
        .where(and(eq(apiTokens.userId, userId), eq(apiTokens.id, id)))
        .returning();
      return row;
    },

    async deleteForUser(userId: string, id: string, tx: Db = db): Promise<boolean> {
      const rows = await tx
        .delete(apiTokens)
        .where(and(eq(apiTokens.userId, userId), eq(apiTokens.id, id)))
        .returning({ id: apiTokens.id });
      return rows.length > 0;
    },
  };
}
