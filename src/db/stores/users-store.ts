// Users: one row per GitHub account that signed in, keyed by GitHub's numeric user id
// (logins can be renamed; the id never changes).
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { users } from '../schema/index.ts';

export type UserRow = typeof users.$inferSelect;

export interface GitHubProfile {
  githubId: number;
  login: string;
  name: string | null;
  email: string | null;
  avatarUrl: string | null;
}

export function createUsersStore(db: Db) {
  return {
    /** Inserts or refreshes the profile of a GitHub account; returns the row. */
    async upsertFromGitHub(profile: GitHubProfile, tx: Db = db): Promise<UserRow> {
      const [row] = await tx
        .insert(users)
        .values(profile)
        .onConflictDoUpdate({
          target: users.githubId,
          set: {
            login: profile.login,
            name: profile.name,
            email: profile.email,
            avatarUrl: profile.avatarUrl,
            updatedAt: sql`now()`,
          },
        })
        .returning();
      return row!;
    },

    async getById(id: string, tx: Db = db): Promise<UserRow | undefined> {
      const [row] = await tx.select().from(users).where(eq(users.id, id)).limit(1);
      return row;
    },
  };
}
