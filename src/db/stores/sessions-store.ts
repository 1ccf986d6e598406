// Server-side browser sessions. The row id is the SHA-256 of the random id the cookie
// carries, so a database reader cannot forge a cookie, and deleting the row ends the session.
import { and, eq, gt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { sessions, users } from '../schema/index.ts';

export type SessionRow = typeof sessions.$inferSelect;
export type SessionUser = Pick<typeof users.$inferSelect, 'id' | 'login' | 'name' | 'avatarUrl'>;

export function createSessionsStore(db: Db) {
  return {
    async create(
      row: Pick<SessionRow, 'id' | 'userId' | 'csrfSecret' | 'userAgent' | 'expiresAt'>,
      tx: Db = db,
    ): Promise<void> {
      await tx.insert(sessions).values(row);
    },

    /** The live session with this id hash and its user, or undefined (missing or expired). */
    async findLive(
      idHash: string,
      now: Date,
      tx: Db = db,
    ): Promise<{ session: SessionRow; user: SessionUser } | undefined> {
      const [row] = await tx
        .select({
          session: sessions,
          user: { id: users.id, login: users.login, name: users.name, avatarUrl: users.avatarUrl },
        })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(and(eq(sessions.id, idHash), gt(sessions.expiresAt, now)))
        .limit(1);
      return row;
    },

    async touch(idHash: string, lastSeenAt: Date, expiresAt: Date, tx: Db = db): Promise<void> {
      await tx.update(sessions).set({ lastSeenAt, expiresAt }).where(eq(sessions.id, idHash));
    },

    async delete(idHash: string, tx: Db = db): Promise<boolean> {
      const rows = await tx
        .delete(sessions)
        .where(eq(sessions.id, idHash))
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async deleteForUser(userId: string, tx: Db = db): Promise<number> {
      const rows = await tx
        .delete(sessions)
        .where(eq(sessions.userId, userId))
        .returning({ id: sessions.id });
      return rows.length;
    },
  };
}
