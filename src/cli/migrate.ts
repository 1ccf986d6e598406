// `npm run db:migrate`: apply migrations/ to the configured database and exit.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { exitOnStartupError } from '../startup-error.ts';

try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await database.migrate();
  await database.close();
  console.log(`flowfix: migrations applied (${database.kind}, ${database.location})`);
} catch (err) {
  exitOnStartupError(err, 'db:migrate');
}
