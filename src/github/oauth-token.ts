// GitHub's OAuth token endpoint answers, and the refresh grant. GitHub answers errors with
// HTTP 200 and an `error` field (bad_verification_code, bad_refresh_token, …), so every
// answer goes through parseTokenAnswer before anything is trusted or stored.
//
// The refresh uses plain fetch rather than @fastify/oauth2: it runs in worker processes
// too, where there is no Fastify instance.
export interface TokenSet {
  accessToken: string;
  /** Present when GitHub issues expiring user tokens (GitHub Apps: ghu_ + ghr_). */
  refreshToken: string | null;
  accessTokenExpiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  /** Space-separated OAuth scopes granted (empty for GitHub App user tokens). */
  scopes: string;
}

/** GitHub said no (HTTP 200 + error). `error` is GitHub's code, safe to show and log. */
export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

const ERROR_CODE = /^[a-z_]{1,64}$/;

/** A token answer (JSON object) → TokenSet; throws OAuthTokenError on an error answer. */
export function parseTokenAnswer(answer: unknown, now: Date): TokenSet {
  const a = (answer ?? {}) as Record<string, unknown>;
  if (typeof a['error'] === 'string') {
    // The code is GitHub's fixed vocabulary; anything else is replaced rather than echoed.
    const code = ERROR_CODE.test(a['error']) ? a['error'] : 'invalid_error';
    const description =
      typeof a['error_description'] === 'string'
        ? a['error_description'].slice(0, 300)
        : 'GitHub refused the request';
    throw new OAuthTokenError(code, description);
  }
  const accessToken = a['access_token'];
  if (typeof accessToken !== 'string' || accessToken.length < 10 || /\s/.test(accessToken)) {
    throw new OAuthTokenError('invalid_answer', 'GitHub answered without an access token');
  }
  const seconds = (v: unknown) => {
    const n = typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
  };
  const expiresIn = seconds(a['expires_in']);
  const refreshExpiresIn = seconds(a['refresh_token_expires_in']);
  const refresh =
    typeof a['refresh_token'] === 'string' && a['refresh_token'] ? a['refresh_token'] : null;
  return {
    accessToken,
    refreshToken: refresh,
    accessTokenExpiresAt: expiresIn === null ? null : new Date(now.getTime() + expiresIn * 1000),
    refreshTokenExpiresAt:
      refresh === null || refreshExpiresIn === null
        ? null
        : new Date(now.getTime() + refreshExpiresIn * 1000),
    scopes:
      typeof a['scope'] === 'string'
        ? a['scope']
            .split(/[\s,]+/)
            .filter(Boolean)
            .join(' ')
        : '',
  };
}

export interface OAuthClient {
  webUrl: string;
  clientId: string;
  clientSecret: string;
}

const TOKEN_TIMEOUT_MS = 10_000;

/** Exchanges a refresh token; throws OAuthTokenError (e.g. bad_refresh_token) or a network error. */
export async function refreshUserToken(
  client: OAuthClient,
  refreshToken: string,
  opts: { now: () => Date; fetch?: typeof fetch },
): Promise<TokenSet> {
  const res = await (opts.fetch ?? fetch)(`${client.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'flowfix',
    },
    body: new URLSearchParams({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    }).toString(),
    signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`GitHub token endpoint answered HTTP ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new Error('GitHub token endpoint answered something other than JSON');
  }
  return parseTokenAnswer(body, opts.now());
}
