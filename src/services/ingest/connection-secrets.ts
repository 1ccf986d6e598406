// Decrypted webhook secrets per connection, cached in memory so verifying a delivery costs
// no database round trip. Staleness is harmless by design:
//   - a secret rotated elsewhere (another process) makes verification fail once, which
//     reloads the entry (at most once per `reloadMs`, so forged requests cannot turn into a
//     query each) and verifies again;
//   - whether the connection still exists and is enabled is checked again inside the
//     delivery's transaction (record-webhook.ts), not here.
// Unknown ids are remembered briefly too, so random ids do not each cost a query.
import { secretContext } from '../../crypto/encrypted-columns.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { RepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { verifySignature } from './verify-signature.ts';

interface Entry {
  /** null: no such connection. */
  secrets: { current: string; previous: string | null; previousExpiresAt: number | null } | null;
  /** What never changes for a connection (so caching it cannot go stale). */
  facts: ConnectionFacts | null;
  loadedAt: number;
}

export interface ConnectionFacts {
  connectionId: string;
  userId: string;
  githubRepoId: number;
}

export type SecretCheck =
  | { status: 'ok'; text: string; connection: ConnectionFacts }
  | { status: 'unknown_connection' }
  | { status: 'bad_signature' };

export interface ConnectionSecretsOptions {
  store: RepositoryConnectionsStore;
  secretBox: SecretBox;
  ttlMs?: number;
  missingTtlMs?: number;
  reloadMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function createConnectionSecrets(opts: ConnectionSecretsOptions) {
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const missingTtlMs = opts.missingTtlMs ?? 5_000;
  const reloadMs = opts.reloadMs ?? 1_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<Entry>>();

  async function fetchEntry(id: string): Promise<Entry> {
    const row = await opts.store.findSecrets(id);
    const entry: Entry = { secrets: null, facts: null, loadedAt: now() };
    if (row) {
      const current = opts.secretBox.decrypt(
        row.webhookSecretEnc,
        secretContext('repository_connections', 'webhook_secret_enc', row.id),
      );
      const previous =
        row.previousWebhookSecretEnc === null
          ? null
          : opts.secretBox.decrypt(
              row.previousWebhookSecretEnc,
              secretContext('repository_connections', 'previous_webhook_secret_enc', row.id),
            );
      entry.facts = { connectionId: row.id, userId: row.userId, githubRepoId: row.githubRepoId };
      entry.secrets = {
        current,
        previous,
        previousExpiresAt: row.previousSecretExpiresAt?.getTime() ?? null,
      };
    }
    entries.delete(id);
    entries.set(id, entry);
    if (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
    return entry;
  }

  /** One load per id at a time, however many requests wait for it. */
  function load(id: string): Promise<Entry> {
    let pending = loading.get(id);
    if (!pending) {
      pending = fetchEntry(id).finally(() => loading.delete(id));
      loading.set(id, pending);
    }
    return pending;
  }

  async function get(id: string): Promise<Entry> {
    const entry = entries.get(id);
    if (entry) {
      const age = now() - entry.loadedAt;
      if (age < (entry.secrets ? ttlMs : missingTtlMs)) return entry;
    }
    return load(id);
  }

  function usable(entry: Entry): string[] {
    if (!entry.secrets) return [];
    const { current, previous, previousExpiresAt } = entry.secrets;
    return previous !== null && previousExpiresAt !== null && previousExpiresAt > now()
      ? [current, previous]
      : [current];
  }

  return {
    /** Verifies a delivery for a connection with its current (and, in grace, previous) secret. */
    async verify(
      connectionId: string,
      body: Buffer,
      signature: string | string[] | undefined,
    ): Promise<SecretCheck> {
      let entry = await get(connectionId);
      if (!entry.secrets) return { status: 'unknown_connection' };
      let text = await verifySignature(usable(entry), body, signature);
      if (text === null && now() - entry.loadedAt >= reloadMs) {
        const before = entry.secrets.current;
        entry = await load(connectionId);
        if (!entry.secrets) return { status: 'unknown_connection' };
        if (entry.secrets.current !== before) {
          text = await verifySignature(usable(entry), body, signature);
        }
      }
      return text === null || !entry.facts
        ? { status: 'bad_signature' }
        : { status: 'ok', text, connection: entry.facts };
    },

    /** Forget a connection (its secret was rotated or it was deleted in this process). */
    invalidate(connectionId: string): void {
      entries.delete(connectionId);
    },

    get size(): number {
      return entries.size;
    },
  };
}

export type ConnectionSecrets = ReturnType<typeof createConnectionSecrets>;
