// GitHub access for a user: hands out a usable token, or an Octokit that always sends the
// current one. Tokens are refreshed REFRESH_MARGIN_MS before they expire.
//
// Refresh is single-flight twice over: in this process a promise per user means 50
// concurrent callers share one refresh; across processes the refresh runs inside a
// transaction holding `select … for update` on the connection row, and re-reads the row
// once the lock is held, so a caller that waited finds the winner's fresh token and does
// not spend the (single-use, rotated) refresh token a second time.
//
// bad_refresh_token, an expired refresh token or an undecryptable stored value mark the
// connection needs_reconnect (shown in the API and the pages) and throw GITHUB_RECONNECT.
import type { Config } from '../config.ts';
import { DecryptError, type SecretBox } from '../crypto/secret-box.ts';
import type { Db } from '../db/client.ts';
import {
  createOAuthConnectionsStore,
  type OAuthConnectionRow,
} from '../db/stores/oauth-connections-store.ts';
import { errors } from '../errors.ts';
import { OAuthTokenError, refreshUserToken } from './oauth-token.ts';
import { createOctokit, type Octokit, type OctokitLog } from './octokit.ts';
import { openAccessToken, openRefreshToken, sealTokens } from './stored-tokens.ts';

export const REFRESH_MARGIN_MS = 10 * 60 * 1000;

export interface GitHubAccess {
  /** An Octokit acting as the user; every request carries the user's current token. */
  forUser(userId: string): Promise<Octokit>;
  /** A token valid for at least REFRESH_MARGIN_MS (or one that never expires). */
  tokenForUser(userId: string): Promise<string>;
}

export interface GitHubAccessDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  log: OctokitLog;
}

export interface GitHubAccessOptions {
  now?: () => Date;
  fetch?: typeof fetch;
  retries?: number;
  retryAfterBaseMs?: number;
}

type Outcome = { token: string } | { reconnect: string };

const REJECTED = 'GitHub rejected the stored token (it was revoked, or the app was removed)';

export function createGitHubAccess(
  deps: GitHubAccessDeps,
  opts: GitHubAccessOptions = {},
): GitHubAccess {
  const { config, secretBox: box, log } = deps;
  const store = createOAuthConnectionsStore(deps.db);
  const now = opts.now ?? (() => new Date());
  const inflight = new Map<string, Promise<string>>();

  const dueForRefresh = (row: OAuthConnectionRow) =>
    row.accessTokenExpiresAt !== null &&
    row.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS <= now().getTime();

  const unreadable = (err: unknown) => {
    if (err instanceof DecryptError) return `the stored GitHub token is unreadable (${err.reason})`;
    throw err;
  };

  async function refreshLocked(userId: string): Promise<string> {
    const outcome = await deps.db.transaction(async (tx): Promise<Outcome> => {
      const row = await store.lockForUser(tx, userId);
      if (!row) return { reconnect: 'no GitHub account is connected' };
      if (row.status !== 'active') return { reconnect: row.statusReason ?? row.status };
      const markAndReturn = async (reason: string): Promise<Outcome> => {
        await store.markNeedsReconnect(row.id, reason, tx);
        log.warn({ userId, reason }, 'GitHub connection needs reconnecting');
        return { reconnect: reason };
      };
      try {
        // Another caller (maybe in another process) refreshed while we waited for the lock.
        if (!dueForRefresh(row)) return { token: openAccessToken(box, row) };
        const refreshToken = openRefreshToken(box, row);
        if (refreshToken === null) return markAndReturn('the GitHub token expired');
        if (row.refreshTokenExpiresAt !== null && row.refreshTokenExpiresAt <= now())
          return markAndReturn('the GitHub refresh token expired');
        if (!config.github.clientId || !config.github.clientSecret)
          throw new errors.OAUTH_NOT_CONFIGURED();
        let fresh;
        try {
          fresh = await refreshUserToken(
            {
              webUrl: config.github.webUrl,
              clientId: config.github.clientId,
              clientSecret: config.github.clientSecret,
            },
            refreshToken,
            { now, ...(opts.fetch ? { fetch: opts.fetch } : {}) },
          );
        } catch (err) {
          if (err instanceof OAuthTokenError && err.error === 'bad_refresh_token')
            return markAndReturn(`GitHub refused the refresh token (${err.error})`);
          const reason = err instanceof Error ? err.message : String(err);
          log.warn({ userId, reason }, 'GitHub token refresh failed');
          throw new errors.GITHUB_UPSTREAM(`token refresh failed: ${reason}`);
        }
        // GitHub rotated the refresh token: the old one is spent, store the new pair once.
        await store.saveRefreshed(row.id, sealTokens(box, userId, fresh), now(), tx);
        log.info({ userId }, 'GitHub token refreshed');
        return { token: fresh.accessToken };
      } catch (err) {
        if (err instanceof DecryptError) return markAndReturn(unreadable(err));
        throw err;
      }
    });
    if ('reconnect' in outcome) throw new errors.GITHUB_RECONNECT(outcome.reconnect);
    return outcome.token;
  }

  async function tokenForUser(userId: string): Promise<string> {
    const row = await store.getForUser(userId);
    if (!row) throw new errors.GITHUB_RECONNECT('no GitHub account is connected');
    if (row.status !== 'active') throw new errors.GITHUB_RECONNECT(row.statusReason ?? row.status);
    if (!dueForRefresh(row)) {
      try {
        return openAccessToken(box, row);
      } catch (err) {
        const reason = unreadable(err);
        await store.markNeedsReconnect(row.id, reason);
        throw new errors.GITHUB_RECONNECT(reason);
      }
    }
    let pending = inflight.get(userId);
    if (!pending) {
      pending = refreshLocked(userId).finally(() => inflight.delete(userId));
      inflight.set(userId, pending);
    }
    return pending;
  }

  async function forUser(userId: string): Promise<Octokit> {
    await tokenForUser(userId); // fail now, not on the first request, when a reconnect is due
    const octokit = createOctokit({
      baseUrl: config.github.apiUrl,
      log,
      throttleId: `user:${userId}`,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.retries === undefined ? {} : { retries: opts.retries }),
      ...(opts.retryAfterBaseMs === undefined ? {} : { retryAfterBaseMs: opts.retryAfterBaseMs }),
    });
    octokit.hook.before('request', async (options) => {
      options.headers.authorization = `token ${await tokenForUser(userId)}`;
    });
    octokit.hook.error('request', async (error, options) => {
      const status = (error as { status?: number }).status;
      const request = options.request as { flowfixRetried?: boolean } | undefined;
      if (status !== 401 || request?.flowfixRetried) throw error;
      // A 401 right after another process rotated the token is not a revocation: retry
      // once with the stored token if it changed; otherwise the grant really is gone.
      const used = String(options.headers.authorization ?? '').replace(/^token /, '');
      const row = await store.getForUser(userId);
      if (row && row.status === 'active') {
        let stored: string | undefined;
        try {
          stored = openAccessToken(box, row);
        } catch {
          stored = undefined;
        }
        if (stored !== undefined && stored !== used) {
          return octokit.request({
            ...options,
            request: { ...options.request, flowfixRetried: true },
          });
        }
        await store.markNeedsReconnect(row.id, REJECTED);
        log.warn({ userId }, 'GitHub rejected the stored token; connection needs reconnecting');
      }
      throw new errors.GITHUB_RECONNECT(REJECTED);
    });
    return octokit;
  }

  return { forUser, tokenForUser };
}
