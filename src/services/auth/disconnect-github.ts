// Disconnecting GitHub: remove the webhooks Flowfix created on the user's repositories
// (with the user's token, so before the grant goes), revoke the grant upstream
// (DELETE /applications/{client_id}/grant), then delete the connection and the
// repository connections locally — always, even when GitHub could not be reached, so the
// user's choice to disconnect is never blocked by GitHub. Upstream failures are logged
// (status only: Octokit errors carry request bodies, and this one holds the token).
import type { Config } from '../../config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Db } from '../../db/client.ts';
import { createOAuthConnectionsStore } from '../../db/stores/oauth-connections-store.ts';
import { errors } from '../../errors.ts';
import type { GitHubAccess } from '../../github/github-access.ts';
import { createOctokit, type Octokit, type OctokitLog } from '../../github/octokit.ts';
import { openAccessToken } from '../../github/stored-tokens.ts';

export interface DisconnectDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  log: OctokitLog;
  github: GitHubAccess;
}

export interface DisconnectResult {
  upstreamRevoked: boolean;
  webhooksRemoved: number;
  webhooksFailed: number;
  repositoriesRemoved: number;
}

const statusOf = (err: unknown) => (err as { status?: number }).status ?? null;

export async function disconnectGitHub(
  deps: DisconnectDeps,
  userId: string,
  opts: { fetch?: typeof fetch; retries?: number } = {},
): Promise<DisconnectResult> {
  const { config, log } = deps;
  const store = createOAuthConnectionsStore(deps.db);
  const row = await store.getForUser(userId);
  if (!row) throw new errors.NOT_FOUND('GitHub connection');

  let octokit: Octokit | null;
  let token: string | null;
  try {
    octokit = await deps.github.forUser(userId);
    token = await deps.github.tokenForUser(userId);
  } catch {
    // Needs reconnecting: the stored token may still work, or at least identify the
    // grant for revocation. Worth a try before the local data goes.
    try {
      token = openAccessToken(deps.secretBox, row);
      octokit = createOctokit({
        baseUrl: config.github.apiUrl,
        auth: token,
        log,
        throttleId: `user:${userId}`,
        retries: 0,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      });
    } catch {
      token = null;
      octokit = null;
    }
  }

  const hooks = await store.listRepositoryHooks(userId);
  let webhooksRemoved = 0;
  let webhooksFailed = 0;
  for (const hook of hooks) {
    const [owner, repo] = hook.fullName.split('/');
    if (!octokit || !owner || !repo) {
      webhooksFailed += 1;
      continue;
    }
    try {
      await octokit.rest.repos.deleteWebhook({ owner, repo, hook_id: hook.webhookId });
      webhooksRemoved += 1;
    } catch (err) {
      // Already gone on GitHub: that is what we wanted.
      if (statusOf(err) === 404) webhooksRemoved += 1;
      else {
        webhooksFailed += 1;
        log.warn(
          { userId, repository: hook.fullName, status: statusOf(err) },
          'could not delete the repository webhook on GitHub',
        );
      }
    }
  }
  if (!octokit && hooks.length > 0)
    log.warn(
      { userId, webhooks: hooks.length },
      'GitHub connection unusable: repository webhooks left on GitHub',
    );

  let upstreamRevoked = false;
  if (token !== null && config.github.clientId && config.github.clientSecret) {
    const app = createOctokit({
      baseUrl: config.github.apiUrl,
      log,
      throttleId: 'oauth-app',
      retries: opts.retries ?? 1,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    const basic = Buffer.from(`${config.github.clientId}:${config.github.clientSecret}`).toString(
      'base64',
    );
    try {
      await app.request('DELETE /applications/{client_id}/grant', {
        client_id: config.github.clientId,
        access_token: token,
        headers: { authorization: `basic ${basic}` },
      });
      upstreamRevoked = true;
    } catch (err) {
      log.warn({ userId, status: statusOf(err) }, 'could not revoke the GitHub grant');
    }
  } else {
    log.warn({ userId }, 'GitHub grant not revoked: no usable token or OAuth not configured');
  }

  const repositoriesRemoved = await deps.db.transaction(async (tx) => {
    const local = createOAuthConnectionsStore(tx);
    const removed = await local.deleteRepositoryConnections(userId, tx);
    await local.deleteForUser(userId, 'github', tx);
    return removed;
  });
  log.info({ userId, upstreamRevoked, webhooksRemoved, webhooksFailed }, 'GitHub disconnected');
  return { upstreamRevoked, webhooksRemoved, webhooksFailed, repositoriesRemoved };
}
