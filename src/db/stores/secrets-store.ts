// Raw access to the encrypted columns listed in crypto/encrypted-columns.ts, for key
// rotation: read a batch of values by keyset, write a re-encrypted value only if it has
// not changed meanwhile (compare-and-set, so a concurrent token refresh is never lost).
import { sql } from 'drizzle-orm';
import type { EncryptedColumn } from '../../crypto/encrypted-columns.ts';
import type { Db } from '../client.ts';

export interface StoredSecret {
  id: string;
  owner: string;
  value: string;
}

export function createSecretsStore(db: Db) {
  // Identifiers come from the fixed registry, never from input.
  const ident = (name: string) => sql.raw(`"${name.replace(/"/g, '')}"`);
  return {
    async batch(
      col: EncryptedColumn,
      afterId: string | null,
      limit: number,
    ): Promise<StoredSecret[]> {
      const rows = await db.execute<{ id: string; owner: string; value: string }>(sql`
        select id::text as id, ${ident(col.ownerColumn)}::text as owner, ${ident(col.column)} as value
        from ${ident(col.table)}
        where ${ident(col.column)} is not null ${afterId ? sql`and id > ${afterId}::uuid` : sql``}
        order by id
        limit ${limit}`);
      return rowsOf(rows);
    },
    async replace(col: EncryptedColumn, id: string, from: string, to: string): Promise<boolean> {
      const rows = await db.execute<{ id: string }>(sql`
        update ${ident(col.table)} set ${ident(col.column)} = ${to}
        where id = ${id}::uuid and ${ident(col.column)} = ${from}
        returning id::text as id`);
      return rowsOf(rows).length === 1;
    },
  };
}

/** postgres.js returns an array, PGlite `{ rows }`: one shape for callers. */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);
}
