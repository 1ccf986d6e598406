// Repository connections: a user watching one GitHub repository through a webhook Flowfix
// created. Every read a person can trigger is scoped to the owner; the by-id lookups
// without an owner serve webhook ingestion, where the signature (not a session) decides.
import { and, desc, eq, ilike, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { repositoryConnections } from '../schema/index.ts';
import { executeConstant, fromDriverRow } from './workflow-runs-store.ts';

export type RepositoryConnection = typeof repositoryConnections.$inferSelect;
export type NewRepositoryConnection = typeof repositoryConnections.$inferInsert;

/** The settings a person may change. */
export interface ConnectionSettings {
  enabled?: boolean | undefined;
  watchedBranches?: string[] | undefined;
  autofixMode?: 'off' | 'suggest' | 'pull_request' | undefined;
  fixBudgetPerDay?: number | undefined;
  fixBudgetPerMonth?: number | undefined;
  autoRerunInfrastructure?: boolean | undefined;
}

/** What GitHub tells us about the repository itself (rename, transfer, visibility). */
export interface RepositoryFacts {
  fullName?: string | undefined;
  defaultBranch?: string | undefined;
  private?: boolean | undefined;
  htmlUrl?: string | null | undefined;
  enabled?: boolean | undefined;
}

export interface ConnectionFilters {
  enabled?: boolean | undefined;
  verified?: boolean | undefined;
  q?: string | undefined;
}

export interface ConnectionSecrets {
  id: string;
  userId: string;
  githubRepoId: number;
  webhookSecretEnc: string;
  previousWebhookSecretEnc: string | null;
  previousSecretExpiresAt: Date | null;
}

// '= any(array(…))' keeps both lookups index probes however many connections there are.
const FIND_FOR_BATCH = `
select * from repository_connections
where id = any(array(select value::uuid from json_array_elements_text($1::text::json)))
   or (enabled and github_repo_id = any(array(
     select value::bigint from json_array_elements_text($2::text::json))))`;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function createRepositoryConnectionsStore(db: Db) {
  return {
    /** Inserts unless the user already watches the repository; undefined then. */
    async insert(
      row: NewRepositoryConnection & { id: string },
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const [created] = await tx
        .insert(repositoryConnections)
        .values(row)
        .onConflictDoNothing({
          target: [repositoryConnections.userId, repositoryConnections.githubRepoId],
        })
        .returning();
      return created;
    },

    async findById(
      userId: string,
      id: string,
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .select()
        .from(repositoryConnections)
        .where(and(eq(repositoryConnections.userId, userId), eq(repositoryConnections.id, id)));
      return row;
    },

    async findByUserRepo(
      userId: string,
      githubRepoId: number,
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .select()
        .from(repositoryConnections)
        .where(
          and(
            eq(repositoryConnections.userId, userId),
            eq(repositoryConnections.githubRepoId, githubRepoId),
          ),
        );
      return row;
    },

    /** Ingestion: connections by id, plus every connection of the given repositories. */
    async findForIngest(
      ids: string[],
      githubRepoIds: number[],
      tx: Db = db,
    ): Promise<RepositoryConnection[]> {
      const where: SQL[] = [];
      if (ids.length > 0) where.push(inArray(repositoryConnections.id, ids));
      if (githubRepoIds.length > 0)
        where.push(inArray(repositoryConnections.githubRepoId, githubRepoIds));
      if (where.length === 0) return [];
      return tx
        .select()
        .from(repositoryConnections)
        .where(or(...where));
    },

    /** Jobs (backfill): one connection by id, whoever owns it. */
    async getForSystem(id: string, tx: Db = db): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .select()
        .from(repositoryConnections)
        .where(eq(repositoryConnections.id, id));
      return row;
    },

    /**
     * Ingestion: connections by id ($1) and the enabled ones of repositories ($2), JSON
     * arrays so the statement text is always the same (prepared once per connection).
     */
    async findForBatch(
      ids: string[],
      githubRepoIds: number[],
      tx: Db = db,
    ): Promise<RepositoryConnection[]> {
      if (ids.length === 0 && githubRepoIds.length === 0) return [];
      const rows = await executeConstant(tx, FIND_FOR_BATCH, [
        JSON.stringify(ids),
        JSON.stringify(githubRepoIds),
      ]);
      return rows.map((r) => fromDriverRow(repositoryConnections, r));
    },

    /** Ingestion: the encrypted secrets of one connection, whoever owns it. */
    async findSecrets(id: string, tx: Db = db): Promise<ConnectionSecrets | undefined> {
      const [row] = await tx
        .select({
          id: repositoryConnections.id,
          userId: repositoryConnections.userId,
          githubRepoId: repositoryConnections.githubRepoId,
          webhookSecretEnc: repositoryConnections.webhookSecretEnc,
          previousWebhookSecretEnc: repositoryConnections.previousWebhookSecretEnc,
          previousSecretExpiresAt: repositoryConnections.previousSecretExpiresAt,
        })
        .from(repositoryConnections)
        .where(eq(repositoryConnections.id, id));
      return row;
    },

    /** Newest first, keyset-paginated on (created_at to the millisecond, id). */
    async list(
      userId: string,
      filters: ConnectionFilters,
      page: { after?: { at: Date; id: string } | undefined; limit: number },
      tx: Db = db,
    ): Promise<RepositoryConnection[]> {
      const where: SQL[] = [eq(repositoryConnections.userId, userId)];
      if (filters.enabled !== undefined)
        where.push(eq(repositoryConnections.enabled, filters.enabled));
      if (filters.verified === true) where.push(isNotNull(repositoryConnections.webhookVerifiedAt));
      if (filters.verified === false) where.push(isNull(repositoryConnections.webhookVerifiedAt));
      if (filters.q)
        where.push(ilike(repositoryConnections.fullName, `%${escapeLike(filters.q)}%`));
      // Cursors carry milliseconds; rows written by defaultNow() have microseconds.
      const createdMs = sql`date_trunc('milliseconds', ${repositoryConnections.createdAt})`;
      if (page.after) {
        where.push(
          sql`(${createdMs}, ${repositoryConnections.id}) < (${page.after.at.toISOString()}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      return tx
        .select()
        .from(repositoryConnections)
        .where(and(...where))
        .orderBy(desc(createdMs), desc(repositoryConnections.id))
        .limit(page.limit);
    },

    /** GitHub repository id → connection id, for the `connected` flag of repository lists. */
    async connectedRepoIds(userId: string, tx: Db = db): Promise<Map<number, string>> {
      const rows = await tx
        .select({ id: repositoryConnections.id, repoId: repositoryConnections.githubRepoId })
        .from(repositoryConnections)
        .where(eq(repositoryConnections.userId, userId));
      return new Map(rows.map((r) => [r.repoId, r.id]));
    },

    async updateSettings(
      userId: string,
      id: string,
      settings: ConnectionSettings,
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const set = Object.fromEntries(
        Object.entries(settings).filter(([, value]) => value !== undefined),
      ) as ConnectionSettings;
      const [row] = await tx
        .update(repositoryConnections)
        .set({ ...set, updatedAt: new Date() })
        .where(and(eq(repositoryConnections.userId, userId), eq(repositoryConnections.id, id)))
        .returning();
      return row;
    },

    async delete(userId: string, id: string, tx: Db = db): Promise<boolean> {
      const rows = await tx
        .delete(repositoryConnections)
        .where(and(eq(repositoryConnections.userId, userId), eq(repositoryConnections.id, id)))
        .returning({ id: repositoryConnections.id });
      return rows.length === 1;
    },

    /** The hook id GitHub gave us; `null` when the hook is gone. */
    async setWebhook(
      id: string,
      webhookId: number | null,
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .update(repositoryConnections)
        .set({ webhookId, updatedAt: new Date() })
        .where(eq(repositoryConnections.id, id))
        .returning();
      return row;
    },

    /** A ping arrived: the hook works. Keeps the hook id if the ping beat our own write. */
    async markVerified(id: string, hookId: number | null, tx: Db = db): Promise<void> {
      await tx
        .update(repositoryConnections)
        .set({
          webhookVerifiedAt: sql`now()`,
          webhookId:
            hookId === null
              ? sql`${repositoryConnections.webhookId}`
              : sql`coalesce(${repositoryConnections.webhookId}, ${hookId})`,
          updatedAt: new Date(),
        })
        .where(eq(repositoryConnections.id, id));
    },

    async touchLastDelivery(ids: string[], tx: Db = db): Promise<void> {
      if (ids.length === 0) return;
      await tx
        .update(repositoryConnections)
        .set({ lastDeliveryAt: sql`now()` })
        .where(inArray(repositoryConnections.id, [...ids].sort()));
    },

    async applyRepositoryFacts(id: string, facts: RepositoryFacts, tx: Db = db): Promise<void> {
      const set = Object.fromEntries(
        Object.entries(facts).filter(([, value]) => value !== undefined),
      ) as RepositoryFacts;
      if (Object.keys(set).length === 0) return;
      await tx
        .update(repositoryConnections)
        .set({ ...set, updatedAt: new Date() })
        .where(eq(repositoryConnections.id, id));
    },

    /** Writes both secret columns at once (rotation, and its undo when GitHub refuses). */
    async replaceSecrets(
      id: string,
      secrets: Omit<ConnectionSecrets, 'id' | 'userId' | 'githubRepoId'>,
      tx: Db = db,
    ): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .update(repositoryConnections)
        .set({ ...secrets, updatedAt: new Date() })
        .where(eq(repositoryConnections.id, id))
        .returning();
      return row;
    },

    async counts(
      userId: string,
      tx: Db = db,
    ): Promise<{ total: number; enabled: number; verified: number }> {
      const [row] = await tx
        .select({
          total: sql<number>`count(*)::int`,
          enabled: sql<number>`count(*) filter (where ${repositoryConnections.enabled})::int`,
          verified: sql<number>`count(*) filter (where ${repositoryConnections.webhookVerifiedAt} is not null)::int`,
        })
        .from(repositoryConnections)
        .where(eq(repositoryConnections.userId, userId));
      return {
        total: Number(row?.total ?? 0),
        enabled: Number(row?.enabled ?? 0),
        verified: Number(row?.verified ?? 0),
      };
    },

    /** All of a user's connections (bounded by how many repositories one person connects). */
    async allForUser(userId: string, tx: Db = db): Promise<RepositoryConnection[]> {
      return tx
        .select()
        .from(repositoryConnections)
        .where(eq(repositoryConnections.userId, userId))
        .orderBy(repositoryConnections.fullName);
    },
  };
}

export type RepositoryConnectionsStore = ReturnType<typeof createRepositoryConnectionsStore>;
