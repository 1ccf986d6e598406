// `npm run keys:rotate`: re-encrypt every stored secret with the primary key of
// ENCRYPTION_KEYS. Prints one line per column; exits 1 if any value could not be read.
import { loadConfig } from '../config.ts';
import { createSecretBox } from '../crypto/secret-box.ts';
import { openDatabase } from '../db/client.ts';
import { rotateKeys } from '../services/rotate-keys.ts';
import { exitOnStartupError } from '../startup-error.ts';

try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const reports = await rotateKeys(database.db, createSecretBox(config.keyring));
  await database.close();
  for (const r of reports) {
    console.log(
      `${r.column}: ${r.scanned} scanned, ${r.reencrypted} re-encrypted, ${r.failed} unreadable`,
    );
  }
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  console.log(
    failed === 0
      ? `flowfix: every secret is now under key "${config.keyring.primary.kid}"; old keys can be removed`
      : `flowfix: ${failed} value(s) could not be decrypted; keep the old keys and see which rows are affected`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
} catch (err) {
  exitOnStartupError(err, 'keys:rotate');
}
