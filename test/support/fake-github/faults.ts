// Fault injection for the fake: the next matching request(s) get an error instead of an
// answer, including GitHub's primary and secondary rate-limit responses with the headers
// Octokit's throttling and retry plugins read (x-ratelimit-*, retry-after).
import { STATUS_CODES } from 'node:http';
import { DOCS } from './rest.ts';

export interface FailureOptions {
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface RateLimitOptions {
  kind?: 'primary' | 'secondary';
  status?: 403 | 429;
  retryAfterSeconds?: number;
  times?: number;
}

export interface FailureRule {
  method: string;
  pattern: RegExp;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  remaining: number;
}

const RATE_LIMIT_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api';

/** `/repos/{owner}/{repo}/hooks` or `/user/*` → an anchored RegExp over the request path. */
function patternToRegExp(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  const source = pattern
    .split(/(\{[^}]+\}|\*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (/^\{[^}]+\}$/.test(part)) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

export class FaultInjector {
  private readonly rules: FailureRule[] = [];
  private readonly nowMs: () => number;

  constructor(nowMs: () => number) {
    this.nowMs = nowMs;
  }

  /** See `FakeGitHub.failNext`. */
  failNext(
    method: string,
    pathPattern: string | RegExp,
    status: number,
    body?: unknown,
    options: FailureOptions = {},
  ): void {
    const reset = Math.ceil(this.nowMs() / 1000) + 60;
    const rateLimited = status === 403 || status === 429;
    const defaultHeaders: Record<string, string> = rateLimited
      ? {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(reset),
          'x-ratelimit-resource': 'core',
          'retry-after': '60',
        }
      : {};
    const defaultBody = rateLimited
      ? {
          message: 'API rate limit exceeded for user ID 1.',
          documentation_url: RATE_LIMIT_DOCS,
          status: String(status),
        }
      : {
          message: STATUS_CODES[status] ?? 'Error',
          documentation_url: DOCS,
          status: String(status),
        };
    this.rules.push({
      method: method.toUpperCase(),
      pattern: patternToRegExp(pathPattern),
      status,
      body: body ?? defaultBody,
      headers: { ...defaultHeaders, ...options.headers },
      remaining: options.times ?? 1,
    });
  }

  /** See `FakeGitHub.rateLimitNext`. */
  rateLimitNext(
    method: string,
    pathPattern: string | RegExp,
    options: RateLimitOptions = {},
  ): void {
    const status = options.status ?? 403;
    const retryAfter = options.retryAfterSeconds ?? 1;
    const reset = Math.ceil(this.nowMs() / 1000) + retryAfter;
    const times = options.times === undefined ? {} : { times: options.times };
    if ((options.kind ?? 'primary') === 'primary') {
      this.failNext(method, pathPattern, status, undefined, {
        headers: { 'x-ratelimit-reset': String(reset), 'retry-after': String(retryAfter) },
        ...times,
      });
      return;
    }
    // Octokit recognises a secondary limit by this wording and waits for retry-after.
    const body = {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
      status: String(status),
    };
    this.failNext(method, pathPattern, status, body, {
      headers: {
        'x-ratelimit-remaining': '4990',
        'x-ratelimit-reset': String(reset),
        'retry-after': String(retryAfter),
      },
      ...times,
    });
  }

  /** The rule for this request, consumed, or undefined when it should be answered normally. */
  take(method: string, pathname: string): FailureRule | undefined {
    const rule = this.rules.find(
      (r) => (r.method === '*' || r.method === method) && r.pattern.test(pathname),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
    return rule;
  }
}
