// A user's connections, newest first, keyset-paginated, with the list filters.
import type { Db } from '../../db/client.ts';
import {
  createRepositoryConnectionsStore,
  type ConnectionFilters,
  type RepositoryConnection,
} from '../../db/stores/repository-connections-store.ts';
import { decodeKeyset, pageOf } from '../workflows/keyset-cursor.ts';

export async function listConnections(
  db: Db,
  userId: string,
  filters: ConnectionFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: RepositoryConnection[]; next: string | null }> {
  const rows = await createRepositoryConnectionsStore(db).list(userId, filters, {
    limit: page.limit + 1,
    after: page.cursor ? decodeKeyset(page.cursor) : undefined,
  });
  return pageOf(rows, page.limit, (c) => ({ at: c.createdAt, id: c.id }));
}
