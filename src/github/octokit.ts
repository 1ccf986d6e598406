// The one way Flowfix builds a GitHub client: Octokit with throttling (GitHub's
// concurrency and write-pacing advice) and retry (5xx and network errors), pointed at the
// configured API URL (github.com or GitHub Enterprise Server).
//
// Rate limits: a short wait (≤ RATE_LIMIT_INLINE_WAIT_SECONDS) is retried once in place;
// anything longer surfaces as the RequestError, so a job can reschedule itself
// (see rateLimitRetryAfterMs) instead of holding a worker for minutes.
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit as OctokitRest } from '@octokit/rest';

export const FlowfixOctokit = OctokitRest.plugin(throttling, retry);
export type Octokit = InstanceType<typeof FlowfixOctokit>;

export const RATE_LIMIT_INLINE_WAIT_SECONDS = 10;
export const USER_AGENT = 'flowfix';

export interface OctokitLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CreateOctokitOptions {
  baseUrl: string;
  /** A user or installation token; omit for client-credential calls that set their own header. */
  auth?: string | undefined;
  log: OctokitLog;
  /** Groups write pacing and concurrency: one id per GitHub identity (user id, "app"). */
  throttleId?: string;
  /** Retries of 5xx/network failures, and the base delay in ms (tests shorten it). */
  retries?: number;
  retryAfterBaseMs?: number;
  fetch?: typeof fetch;
}

export function createOctokit(opts: CreateOctokitOptions): Octokit {
  const { log } = opts;
  const onLimit =
    (kind: 'primary' | 'secondary') =>
    (retryAfter: number, options: { method: string; url: string }, _o: unknown, count: number) => {
      const retrying = count < 1 && retryAfter <= RATE_LIMIT_INLINE_WAIT_SECONDS;
      log.warn(
        { kind, retryAfter, method: options.method, url: options.url, retrying },
        'GitHub rate limit hit',
      );
      return retrying;
    };
  return new FlowfixOctokit({
    baseUrl: opts.baseUrl,
    ...(opts.auth === undefined ? {} : { auth: opts.auth }),
    userAgent: USER_AGENT,
    request: { fetch: opts.fetch ?? fetch },
    // Octokit calls log.x(message, ...details); pino wants (object, message).
    log: {
      debug: (msg: string) => log.debug({}, msg),
      info: (msg: string) => log.info({}, msg),
      warn: (msg: string) => log.warn({}, msg),
      error: (msg: string) => log.error({}, msg),
    },
    throttle: {
      id: opts.throttleId ?? 'flowfix',
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    },
    retry: {
      retries: opts.retries ?? 3,
      ...(opts.retryAfterBaseMs === undefined
        ? {}
        : { retryAfterBaseValue: opts.retryAfterBaseMs }),
      // 429 is a rate limit: the throttling plugin decides about it, not blind retries.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
  });
}

/**
 * How long GitHub asked us to wait, in ms, when `err` is a rate-limit answer; undefined for
 * any other error. Jobs turn it into RetryLaterError.
 */
export function rateLimitRetryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const e = err as { status?: number; response?: { headers?: Record<string, unknown> } };
  if (e?.status !== 403 && e?.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (headers['x-ratelimit-remaining'] === '0') {
    const reset = Number(headers['x-ratelimit-reset']) * 1000;
    if (Number.isFinite(reset)) return Math.max(reset - now, 0) + 1000;
  }
  return undefined;
}
