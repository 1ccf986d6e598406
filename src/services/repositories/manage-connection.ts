// Changing a connection after it exists: its settings, a new webhook secret (the old one
// keeps verifying for a grace period), and disconnecting (hook removed on GitHub first).
import { randomSecret } from '../../crypto/random-secret.ts';
import {
  createRepositoryConnectionsStore,
  type ConnectionSettings,
  type RepositoryConnection,
} from '../../db/stores/repository-connections-store.ts';
import { errors } from '../../errors.ts';
import type { RepositoryDeps } from './connect-repository.ts';
import { fromGitHub, githubStatus } from './github-errors.ts';
import {
  hookConfig,
  hookUrl,
  openCurrent,
  sealCurrent,
  sealPrevious,
  splitFullName,
} from './repository-hook.ts';

/** How long the secret before a rotation still verifies deliveries. */
export const SECRET_ROTATION_GRACE_MS = 24 * 3600 * 1000;

export async function getConnection(
  deps: Pick<RepositoryDeps, 'db'>,
  userId: string,
  id: string,
): Promise<RepositoryConnection> {
  const connection = await createRepositoryConnectionsStore(deps.db).findById(userId, id);
  if (!connection) throw new errors.NOT_FOUND('Connection');
  return connection;
}

const FORBIDDEN_IN_BRANCH = new Set(['~', '^', ':', '?', '*', '[', '\\']);

/** No control characters and none of the characters git forbids in a ref name. */
export function isBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    [...name].every((ch) => {
      const code = ch.charCodeAt(0);
      return code >= 0x20 && code !== 0x7f && !FORBIDDEN_IN_BRANCH.has(ch);
    })
  );
}

/** Branch names as a person types them: trimmed, without duplicates or empties. */
export function normaliseBranches(branches: string[]): string[] {
  const names = [...new Set(branches.map((b) => b.trim()).filter((b) => b !== ''))];
  const bad = names.find((b) => !isBranchName(b));
  if (bad !== undefined) {
    throw new errors.BAD_REQUEST('a branch name has a character git does not allow');
  }
  if (names.length > 50) throw new errors.BAD_REQUEST('watch at most 50 branches');
  return names;
}

export async function updateConnection(
  deps: Pick<RepositoryDeps, 'db'>,
  userId: string,
  id: string,
  settings: ConnectionSettings,
): Promise<RepositoryConnection> {
  const patch: ConnectionSettings = { ...settings };
  if (patch.watchedBranches) patch.watchedBranches = normaliseBranches(patch.watchedBranches);
  const updated = await createRepositoryConnectionsStore(deps.db).updateSettings(userId, id, patch);
  if (!updated) throw new errors.NOT_FOUND('Connection');
  return updated;
}

/**
 * A fresh secret, stored before GitHub is told (so deliveries signed with either verify in
 * between); undone if GitHub refuses, so the stored secret always matches GitHub's.
 */
export async function rotateWebhookSecret(
  deps: RepositoryDeps,
  userId: string,
  id: string,
  now = new Date(),
): Promise<RepositoryConnection> {
  const store = createRepositoryConnectionsStore(deps.db);
  const connection = await getConnection(deps, userId, id);
  if (connection.webhookId === null) {
    throw new errors.CONFLICT(
      'This connection has no webhook on GitHub; connect the repository again to create one',
    );
  }
  const octokit = await deps.github.forUser(userId);
  const secret = randomSecret(32);
  const current = openCurrent(deps.secretBox, connection);
  const rotated = await store.replaceSecrets(id, {
    webhookSecretEnc: sealCurrent(deps.secretBox, id, secret),
    previousWebhookSecretEnc: sealPrevious(deps.secretBox, id, current),
    previousSecretExpiresAt: new Date(now.getTime() + SECRET_ROTATION_GRACE_MS),
  });
  const { owner, repo } = splitFullName(connection.fullName);
  try {
    await octokit.rest.repos.updateWebhook({
      owner,
      repo,
      hook_id: connection.webhookId,
      config: hookConfig(hookUrl(deps.config, id), secret),
    });
  } catch (err) {
    await store.replaceSecrets(id, {
      webhookSecretEnc: connection.webhookSecretEnc,
      previousWebhookSecretEnc: connection.previousWebhookSecretEnc,
      previousSecretExpiresAt: connection.previousSecretExpiresAt,
    });
    throw fromGitHub(err, `Webhook of ${connection.fullName}`);
  }
  deps.log.info({ userId, connectionId: id }, 'webhook secret rotated');
  return rotated ?? connection;
}

export interface DisconnectResult {
  /** The hook is gone from GitHub (deleted now, or already absent). */
  hookRemoved: boolean;
  /** Why it could not be removed, when `force` removed the connection anyway. */
  hookError: string | null;
}

/**
 * Removes the hook on GitHub (a 404 there is fine), then the connection and, by cascade,
 * its runs. If GitHub cannot be told, nothing is removed unless `force` — then the hook is
 * left behind (its deliveries will answer 404) and that is reported.
 */
export async function disconnectRepository(
  deps: RepositoryDeps,
  userId: string,
  id: string,
  opts: { force?: boolean } = {},
): Promise<DisconnectResult> {
  const connection = await getConnection(deps, userId, id);
  let hookRemoved = connection.webhookId === null;
  let hookError: string | null = null;
  if (connection.webhookId !== null) {
    try {
      const octokit = await deps.github.forUser(userId);
      const { owner, repo } = splitFullName(connection.fullName);
      await octokit.rest.repos.deleteWebhook({ owner, repo, hook_id: connection.webhookId });
      hookRemoved = true;
    } catch (err) {
      if (githubStatus(err) === 404) hookRemoved = true;
      else {
        const coded = fromGitHub(err, `Webhook of ${connection.fullName}`);
        if (!opts.force) throw coded;
        hookError = coded.message;
        deps.log.warn(
          { userId, connectionId: id, status: githubStatus(err) ?? null },
          'webhook left on GitHub: the connection was removed anyway',
        );
      }
    }
  }
  await createRepositoryConnectionsStore(deps.db).delete(userId, id);
  deps.log.info({ userId, connectionId: id, hookRemoved }, 'repository disconnected');
  return { hookRemoved, hookError };
}
