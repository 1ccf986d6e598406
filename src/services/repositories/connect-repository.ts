// Connecting a repository: find it on GitHub (by name or id) as the user, check they may add
// webhooks, write the connection row first (so the ping GitHub sends at once finds it),
// create or adopt the hook with a fresh secret, then ask for the backfill of recent runs.
// The backfill request goes to the outbox in the transaction that records the hook, never
// straight to the queue: with Redis down the connect still succeeds at once, and the
// backfill runs when Redis is back. Idempotent: connecting again returns the same
// connection and repairs a missing hook — and then asks for a backfill again, since the
// runs of the time without a hook never came by webhook.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import { randomSecret } from '../../crypto/random-secret.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Db } from '../../db/client.ts';
import {
  createRepositoryConnectionsStore,
  type ConnectionSettings,
  type RepositoryConnection,
} from '../../db/stores/repository-connections-store.ts';
import { errors } from '../../errors.ts';
import type { GitHubAccess } from '../../github/github-access.ts';
import type { Octokit } from '../../github/octokit.ts';
import { notifyOutbox } from '../outbox/outbox-signal.ts';
import { writeOutbox } from '../outbox/write-outbox.ts';
import { fromGitHub } from './github-errors.ts';
import {
  createOrAdoptHook,
  hookExists,
  hookUrl,
  openCurrent,
  sealCurrent,
  splitFullName,
} from './repository-hook.ts';

export interface RepositoryDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  github: GitHubAccess;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export type RepositoryRef = { fullName: string } | { repositoryId: number };

interface GitHubRepository {
  id: number;
  full_name: string;
  default_branch?: string;
  private: boolean;
  html_url: string;
  permissions?: { admin?: boolean };
}

/**
 * The job id of a connection's backfill: queued once however often connect is retried.
 * A repaired hook asks again, under its own id (the hook's is new each time).
 */
export const backfillJobId = (connectionId: string, repairedHookId?: number) =>
  repairedHookId === undefined
    ? `backfill-runs-${connectionId}`
    : `backfill-runs-${connectionId}-hook-${repairedHookId}`;

/** Records the connection's hook and, in the same transaction, asks for its backfill. */
async function recordHook(
  deps: RepositoryDeps,
  connectionId: string,
  hookId: number,
  jobKey: string,
): Promise<RepositoryConnection | undefined> {
  const backfill = deps.config.backfillRuns > 0;
  const row = await deps.db.transaction(async (tx) => {
    const updated = await createRepositoryConnectionsStore(tx).setWebhook(connectionId, hookId);
    if (backfill) {
      await writeOutbox(tx, { topic: 'backfill-runs', jobKey, payload: { connectionId } });
    }
    return updated;
  });
  if (backfill) notifyOutbox();
  return row;
}

async function findRepository(octokit: Octokit, ref: RepositoryRef): Promise<GitHubRepository> {
  if ('fullName' in ref) {
    const { owner, repo } = splitFullName(ref.fullName);
    try {
      return (await octokit.rest.repos.get({ owner, repo })).data;
    } catch (err) {
      throw fromGitHub(err, `Repository ${ref.fullName}`);
    }
  }
  // GitHub's API has no documented lookup by id for a user: search their repositories,
  // stopping at the page that holds it.
  let found: GitHubRepository | undefined;
  try {
    await octokit.paginate(
      octokit.rest.repos.listForAuthenticatedUser,
      { per_page: 100 },
      (response, done) => {
        found = response.data.find((r) => r.id === ref.repositoryId);
        if (found) done();
        return [];
      },
    );
  } catch (err) {
    throw fromGitHub(err, 'Repository');
  }
  if (!found) throw new errors.NOT_FOUND(`Repository ${ref.repositoryId} (on GitHub)`);
  return found;
}

/**
 * Makes sure an existing connection has a working hook; returns the (updated) row. A hook
 * it had to create or adopt may have missed runs: their backfill is asked for.
 */
async function ensureHook(
  deps: RepositoryDeps,
  octokit: Octokit,
  connection: RepositoryConnection,
): Promise<RepositoryConnection> {
  try {
    if (
      connection.webhookId !== null &&
      (await hookExists(octokit, connection.fullName, connection.webhookId))
    ) {
      return connection;
    }
    const hookId = await createOrAdoptHook(
      octokit,
      connection.fullName,
      hookUrl(deps.config, connection.id),
      openCurrent(deps.secretBox, connection),
    );
    deps.log.info({ connectionId: connection.id, hookId }, 'repository hook repaired');
    // No hook recorded yet (a concurrent first connect is still making it, or its id was
    // lost): the connection's own backfill key, which dedupes with the first one. A hook
    // that had been recorded and is gone: a backfill of its own for the runs it missed.
    const jobKey = backfillJobId(connection.id, connection.webhookId === null ? undefined : hookId);
    return (await recordHook(deps, connection.id, hookId, jobKey)) ?? connection;
  } catch (err) {
    throw fromGitHub(err, `Repository ${connection.fullName}`);
  }
}

export async function connectRepository(
  deps: RepositoryDeps,
  userId: string,
  ref: RepositoryRef,
  settings: ConnectionSettings = {},
): Promise<{ connection: RepositoryConnection; created: boolean }> {
  const store = createRepositoryConnectionsStore(deps.db);
  const octokit = await deps.github.forUser(userId);
  const repo = await findRepository(octokit, ref);
  if (repo.permissions && repo.permissions.admin !== true) {
    throw new errors.FORBIDDEN(
      `You need admin rights on ${repo.full_name} for Flowfix to add its webhook`,
    );
  }

  const existing = await store.findByUserRepo(userId, repo.id);
  if (existing) return { connection: await ensureHook(deps, octokit, existing), created: false };

  // The secret is bound to the row id (authenticated data), so the id comes first.
  const id = randomUUID();
  const secret = randomSecret(32);
  const inserted = await store.insert({
    id,
    userId,
    githubRepoId: repo.id,
    fullName: repo.full_name,
    defaultBranch: repo.default_branch ?? 'main',
    private: repo.private,
    htmlUrl: repo.html_url,
    webhookSecretEnc: sealCurrent(deps.secretBox, id, secret),
    ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
  });
  if (!inserted) {
    // A concurrent connect of the same repository won the race: use its row.
    const winner = await store.findByUserRepo(userId, repo.id);
    if (!winner) throw new errors.CONFLICT('The repository was connected and removed meanwhile');
    return { connection: await ensureHook(deps, octokit, winner), created: false };
  }

  let hookId: number;
  try {
    hookId = await createOrAdoptHook(octokit, repo.full_name, hookUrl(deps.config, id), secret);
  } catch (err) {
    await store.delete(userId, id);
    throw fromGitHub(err, `Repository ${repo.full_name}`);
  }
  const connection = (await recordHook(deps, id, hookId, backfillJobId(id))) ?? inserted;
  deps.log.info({ userId, connectionId: id, repository: repo.full_name }, 'repository connected');
  return { connection, created: true };
}
