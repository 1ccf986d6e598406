// Start-up failures that deserve one clear line (naming the variable to fix) rather
// than a stack trace: configuration mistakes and an unreachable database.
import { ConfigError } from './config.ts';
import { DatabaseConnectError } from './db/client.ts';

export function exitOnStartupError(err: unknown, what: string): never {
  if (err instanceof ConfigError || err instanceof DatabaseConnectError) {
    console.error(`flowfix ${what}: ${err.message}`);
  } else {
    console.error(`flowfix ${what}: failed to start:`, err);
  }
  process.exit(1);
}
