// Every encrypted column, in one list: what the secret-box context of each value is, so
// writers, readers and `npm run keys:rotate` agree. Adding an encrypted column means
// adding it here; the rotation test checks every *_enc column of the schema is listed.
import type { SecretContext } from './secret-box.ts';

export interface EncryptedColumn {
  table: 'oauth_connections' | 'repository_connections' | 'provider_keys';
  column: string;
  /** Which row value is bound as the owner: the owning user (one row per user) or the row id. */
  ownerColumn: 'user_id' | 'id';
}

export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  { table: 'oauth_connections', column: 'access_token_enc', ownerColumn: 'user_id' },
  { table: 'oauth_connections', column: 'refresh_token_enc', ownerColumn: 'user_id' },
  { table: 'repository_connections', column: 'webhook_secret_enc', ownerColumn: 'id' },
  { table: 'repository_connections', column: 'previous_webhook_secret_enc', ownerColumn: 'id' },
  { table: 'provider_keys', column: 'key_enc', ownerColumn: 'id' },
];

/** The context of one stored value, for the column named `table.column`. */
export function secretContext(
  table: EncryptedColumn['table'],
  column: string,
  owner: string,
): SecretContext {
  const known = ENCRYPTED_COLUMNS.find((c) => c.table === table && c.column === column);
  if (!known) throw new TypeError(`${table}.${column} is not a registered encrypted column`);
  return { table, column, owner };
}
