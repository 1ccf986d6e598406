// Test fixtures for ingestion: connections written straight through the store (as the
// connect flow leaves them, secret sealed by the app's secret box), and signed deliveries
// sent through app.inject exactly as GitHub's Hookshot sends them.
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { App } from '../../../src/app.ts';
import { secretContext } from '../../../src/crypto/encrypted-columns.ts';
import { randomSecret } from '../../../src/crypto/random-secret.ts';
import { webhookDeliveries, workflowRuns } from '../../../src/db/schema/index.ts';
import { createRepositoryConnectionsStore } from '../../../src/db/stores/repository-connections-store.ts';
import { knownSecrets } from '../../helper.ts';
import { encodeWebhookBody, signPayload, signPayloadSha1 } from '../../support/webhook-sender.ts';

type AnyApp = Pick<App, 'db' | 'secretBox' | 'inject'>;

export async function seedConnection(
  app: AnyApp,
  userId: string,
  opts: {
    githubRepoId: number;
    fullName?: string;
    secret?: string;
    enabled?: boolean;
    webhookId?: number | null;
  },
) {
  const id = randomUUID();
  const secret = opts.secret ?? randomSecret(32);
  knownSecrets.add(secret);
  const connection = await createRepositoryConnectionsStore(app.db).insert({
    id,
    userId,
    githubRepoId: opts.githubRepoId,
    fullName: opts.fullName ?? `owner/repo-${opts.githubRepoId}`,
    webhookId: opts.webhookId ?? null,
    webhookSecretEnc: app.secretBox.encrypt(
      secret,
      secretContext('repository_connections', 'webhook_secret_enc', id),
    ),
    enabled: opts.enabled ?? true,
  });
  if (!connection) throw new Error('seedConnection: the user already has this repository');
  return { connection, secret };
}

export interface DeliverOptions {
  url: string;
  secret: string | null;
  event: string;
  payload: object | string | Buffer;
  deliveryId?: string;
  encoding?: 'json' | 'form';
  headers?: Record<string, string | null>;
}

/** One signed delivery through app.inject (headers as GitHub sends them). */
export async function deliver(app: AnyApp, opts: DeliverOptions) {
  const encoding = opts.encoding ?? 'json';
  const body = encodeWebhookBody(opts.payload, encoding);
  const deliveryId = opts.deliveryId ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-delivery': deliveryId,
    'x-github-event': opts.event,
    'x-github-hook-id': '1',
  };
  if (opts.secret !== null) {
    headers['x-hub-signature'] = signPayloadSha1(opts.secret, body);
    headers['x-hub-signature-256'] = signPayload(opts.secret, body);
  }
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    if (value === null) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  const response = await app.inject({ method: 'POST', url: opts.url, headers, payload: body });
  return { response, deliveryId, body };
}

/** A connection's stored run by GitHub's run id (undefined when there is none). */
export async function storedRun(app: Pick<App, 'db'>, connectionId: string, githubRunId: number) {
  const [row] = await app.db
    .select()
    .from(workflowRuns)
    .where(
      and(eq(workflowRuns.connectionId, connectionId), eq(workflowRuns.githubRunId, githubRunId)),
    );
  return row;
}

/** A hook's delivery row by GitHub's delivery id (undefined when there is none). */
export async function storedDelivery(app: Pick<App, 'db'>, hookKey: string, deliveryId: string) {
  const [row] = await app.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.hookKey, hookKey), eq(webhookDeliveries.deliveryId, deliveryId)),
    );
  return row;
}
