// What the setup page shows: which engines are in use and what is left to configure.
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/client.ts';
import type { JobQueue } from '../jobs/types.ts';

export interface SetupItem {
  name: string;
  ok: boolean;
  detail: string;
  /** What to set to fix it (variable names and example values). */
  fix?: string;
}

export function setupStatus(config: Config, database: DatabaseHandle, queue: JobQueue) {
  const items: SetupItem[] = [
    {
      name: 'Database',
      ok: true,
      detail:
        database.kind === 'postgres'
          ? `PostgreSQL at ${database.location}`
          : `Embedded PGlite (${database.location}) — fine for trying Flowfix; set DATABASE_URL for production`,
    },
    {
      name: 'Job queue',
      ok: true,
      detail:
        queue.kind === 'bullmq'
          ? `BullMQ on Redis${config.runWorkers ? ', workers in this process too' : ' (run `npm run worker`)'}`
          : 'In-process runner — set REDIS_URL to use BullMQ and separate workers',
    },
    {
      name: 'Encryption keys',
      ok: true,
      detail: config.generatedSecretsFile
        ? `Generated locally and kept in ${config.generatedSecretsFile}; set ENCRYPTION_KEYS and SESSION_SECRET to manage them yourself`
        : `Keyring with ${config.keyring.keys.size} key(s), primary "${config.keyring.primary.kid}"`,
    },
    config.github.clientId
      ? {
          name: 'GitHub OAuth',
          ok: true,
          detail: `Client ${config.github.clientId} against ${config.github.webUrl}`,
        }
      : {
          name: 'GitHub OAuth',
          ok: false,
          detail: 'Not configured: nobody can sign in yet.',
          fix: `Create an OAuth app (or GitHub App) at ${config.github.webUrl}/settings/developers with the callback URL ${config.publicUrl}/api/v2/oauth/github/callback, then set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET and restart.`,
        },
    {
      name: 'Public URL',
      ok: !/localhost|127\.0\.0\.1/.test(config.publicUrl),
      detail: config.publicUrl,
      ...(/localhost|127\.0\.0\.1/.test(config.publicUrl)
        ? {
            fix: 'GitHub cannot deliver webhooks to localhost: set PUBLIC_URL to an address GitHub can reach.',
          }
        : {}),
    },
  ];
  return { items, ready: items.every((i) => i.ok) };
}
