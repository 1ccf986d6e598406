// Key rotation: re-encrypt every stored secret that is not under the primary key, in
// batches, column by column. Safe to run while Flowfix serves traffic and to run again.
import { ENCRYPTED_COLUMNS } from '../crypto/encrypted-columns.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Db } from '../db/client.ts';
import { createSecretsStore } from '../db/stores/secrets-store.ts';

export interface RotationReport {
  column: string;
  scanned: number;
  reencrypted: number;
  /** Values that could not be decrypted (tampered, or under a key no longer in the ring). */
  failed: number;
}

export async function rotateKeys(
  db: Db,
  box: SecretBox,
  batchSize = 500,
): Promise<RotationReport[]> {
  const store = createSecretsStore(db);
  const reports: RotationReport[] = [];
  for (const col of ENCRYPTED_COLUMNS) {
    const report = { column: `${col.table}.${col.column}`, scanned: 0, reencrypted: 0, failed: 0 };
    let after: string | null = null;
    for (;;) {
      const batch = await store.batch(col, after, batchSize);
      if (batch.length === 0) break;
      for (const row of batch) {
        report.scanned++;
        const ctx = { table: col.table, column: col.column, owner: row.owner };
        try {
          if (!box.needsRotation(row.value)) continue;
          const fresh = box.encrypt(box.decrypt(row.value, ctx), ctx);
          if (await store.replace(col, row.id, row.value, fresh)) report.reencrypted++;
        } catch {
          report.failed++;
        }
      }
      after = batch[batch.length - 1]!.id;
    }
    reports.push(report);
  }
  return reports;
}
