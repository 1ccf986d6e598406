// GitHub OAuth connections: one per user, tokens stored as secret-box ciphertext only.
// Also what disconnecting needs from the user's repository connections (their webhook ids,
// then deleting them), so the whole disconnect runs through one store.
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { oauthConnections, repositoryConnections } from '../schema/index.ts';

export type OAuthConnectionRow = typeof oauthConnections.$inferSelect;

/** The encrypted token set written after a code exchange or a refresh. */
export interface StoredTokens {
  accessTokenEnc: string;
  refreshTokenEnc: string | null;
  accessTokenExpiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
}

export interface RepositoryHookRef {
  id: string;
  fullName: string;
  webhookId: number;
}

export function createOAuthConnectionsStore(db: Db) {
  return {
    async getForUser(
      userId: string,
      provider = 'github',
      tx: Db = db,
    ): Promise<OAuthConnectionRow | undefined> {
      const [row] = await tx
        .select()
        .from(oauthConnections)
        .where(and(eq(oauthConnections.userId, userId), eq(oauthConnections.provider, provider)))
        .limit(1);
      return row;
    },

    /**
     * The row, locked until the transaction `tx` ends: concurrent refreshers in any process
     * queue here and then see the row as the winner left it.
     */
    async lockForUser(
      tx: Db,
      userId: string,
      provider = 'github',
    ): Promise<OAuthConnectionRow | undefined> {
      const [row] = await tx
        .select()
        .from(oauthConnections)
        .where(and(eq(oauthConnections.userId, userId), eq(oauthConnections.provider, provider)))
        .limit(1)
        .for('update');
      return row;
    },

    async listForUser(userId: string, tx: Db = db): Promise<OAuthConnectionRow[]> {
      return tx
        .select()
        .from(oauthConnections)
        .where(eq(oauthConnections.userId, userId))
        .orderBy(oauthConnections.provider);
    },

    /** Stores a fresh grant: new tokens, active again, whatever the previous state was. */
    async upsert(
      row: StoredTokens & { userId: string; providerUserId: number; scopes: string },
      tx: Db = db,
    ): Promise<OAuthConnectionRow> {
      const fresh = {
        providerUserId: row.providerUserId,
        accessTokenEnc: row.accessTokenEnc,
        refreshTokenEnc: row.refreshTokenEnc,
        accessTokenExpiresAt: row.accessTokenExpiresAt,
        refreshTokenExpiresAt: row.refreshTokenExpiresAt,
        scopes: row.scopes,
        status: 'active',
        statusReason: null,
      };
      const [saved] = await tx
        .insert(oauthConnections)
        .values({ userId: row.userId, provider: 'github', ...fresh })
        .onConflictDoUpdate({
          target: [oauthConnections.userId, oauthConnections.provider],
          set: { ...fresh, updatedAt: sql`now()` },
        })
        .returning();
      return saved!;
    },

    async saveRefreshed(id: string, tokens: StoredTokens, now: Date, tx: Db = db): Promise<void> {
      await tx
        .update(oauthConnections)
        .set({ ...tokens, lastRefreshedAt: now, updatedAt: now })
        .where(eq(oauthConnections.id, id));
    },

    async markNeedsReconnect(id: string, reason: string, tx: Db = db): Promise<void> {
      await tx
        .update(oauthConnections)
        .set({ status: 'needs_reconnect', statusReason: reason, updatedAt: sql`now()` })
        .where(eq(oauthConnections.id, id));
    },

    async deleteForUser(userId: string, provider = 'github', tx: Db = db): Promise<boolean> {
      const rows = await tx
        .delete(oauthConnections)
        .where(and(eq(oauthConnections.userId, userId), eq(oauthConnections.provider, provider)))
        .returning({ id: oauthConnections.id });
      return rows.length > 0;
    },

    /** The webhooks Flowfix created on the user's repositories. */
    async listRepositoryHooks(userId: string, tx: Db = db): Promise<RepositoryHookRef[]> {
      const rows = await tx
        .select({
          id: repositoryConnections.id,
          fullName: repositoryConnections.fullName,
          webhookId: repositoryConnections.webhookId,
        })
        .from(repositoryConnections)
        .where(
          and(eq(repositoryConnections.userId, userId), isNotNull(repositoryConnections.webhookId)),
        );
      return rows.map((r) => ({ id: r.id, fullName: r.fullName, webhookId: r.webhookId! }));
    },

    /** Removes the user's repository connections (runs, jobs and incidents cascade). */
    async deleteRepositoryConnections(userId: string, tx: Db = db): Promise<number> {
      const rows = await tx
        .delete(repositoryConnections)
        .where(eq(repositoryConnections.userId, userId))
        .returning({ id: repositoryConnections.id });
      return rows.length;
    },
  };
}
