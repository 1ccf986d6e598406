// Turns a GitHub failure into what the queue should do about it:
//   - rate limited (403/429 with x-ratelimit-remaining 0, retry-after, or a rate-limit
//     message) → RetryLaterError after the time GitHub asks for, without spending an attempt;
//   - any other 4xx, or a connection that needs the user to reconnect → UnrecoverableJobError;
//   - 5xx and network errors → unchanged, so the job is retried with backoff.
import { rateLimitRetryAfterMs } from '../github/octokit.ts';
import { RetryLaterError, UnrecoverableJobError } from './types.ts';

const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 3600_000;
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

interface GitHubErrorShape {
  status?: unknown;
  code?: unknown;
  message?: unknown;
}

const clamp = (ms: number) => Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.ceil(ms)));

/** How long GitHub asks us to wait, or undefined when this is not a rate limit. */
export function rateLimitWaitMs(err: unknown, now = Date.now()): number | undefined {
  const e = (err ?? {}) as GitHubErrorShape;
  if (e.status !== 403 && e.status !== 429) return undefined;
  const asked = rateLimitRetryAfterMs(err, now);
  if (asked !== undefined) return clamp(asked);
  if (e.status === 429 || /rate limit/i.test(String(e.message ?? ''))) {
    return DEFAULT_RATE_LIMIT_WAIT_MS;
  }
  return undefined;
}

export function toJobError(err: unknown, now = Date.now()): unknown {
  if (err instanceof RetryLaterError || err instanceof UnrecoverableJobError) return err;
  const e = (err ?? {}) as GitHubErrorShape;
  if (e.code === 'FFX_ERR_GITHUB_RECONNECT') {
    return new UnrecoverableJobError(
      String(e.message ?? 'the GitHub connection needs reconnecting'),
    );
  }
  const wait = rateLimitWaitMs(err, now);
  if (wait !== undefined)
    return new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    // Octokit's messages name the endpoint and GitHub's docs, never a credential.
    const message = String(e.message ?? '')
      .split('\n')[0]!
      .slice(0, 300);
    return new UnrecoverableJobError(`GitHub answered ${status}: ${message}`);
  }
  return err;
}
