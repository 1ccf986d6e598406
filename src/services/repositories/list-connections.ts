// A user's connections, newest first, keyset-paginated, with the list filters.
import type { Db } from '../../db/client.ts';
import {
  createRepositoryConnectionsStore,
  type ConnectionFilters,
  type RepositoryConnection,
} from '../../db/stores/repository-connections-store.ts';
import { keysetPage } from '../workflows/keyset-cursor.ts';

export async function listConnections(
  db: Db,
  userId: string,
  filters: ConnectionFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: RepositoryConnection[]; next: string | null }> {
  const store = createRepositoryConnectionsStore(db);
  return keysetPage(
    page,
    (q) => store.list(userId, filters, q),
    (c) => ({ at: c.createdAt, id: c.id }),
  );
}
