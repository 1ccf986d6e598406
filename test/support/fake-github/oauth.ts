// GitHub's OAuth web flow as the fake plays it: the authorize page (or auto-approval),
// single-use codes bound to redirect_uri and a PKCE challenge, the token endpoint with its
// quirks (form-encoded unless `Accept: application/json`, errors with HTTP 200), expiring
// `ghu_`/`ghr_` tokens with refresh-token rotation, classic `gho_` tokens, and revocation.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { FakeCore, RestContext, RestReply } from './rest.ts';
import { ApiError } from './rest.ts';
import type { FakeAccessToken, FakeCode, FakeUser } from './state.ts';

export interface OAuthSettings {
  clientId: string;
  clientSecret: string;
  /** Registered callback URL(s); null accepts any redirect_uri. */
  callbackUrls: string[] | null;
  /** GitHub App "expire user authorization tokens" (ghu_/ghr_); false gives classic gho_ tokens. */
  expiringTokens: boolean;
  /** Answer the authorize URL with an immediate redirect instead of the HTML page. */
  autoApprove: boolean;
  /** Who is "signed in to GitHub" in the browser; `?login=` on the authorize URL overrides. */
  signedInLogin: string | null;
}

export const ACCESS_TOKEN_TTL_SECONDS = 28_800;
export const REFRESH_TOKEN_TTL_SECONDS = 15_897_600;
const CODE_TTL_MS = 10 * 60 * 1000;
const TROUBLESHOOTING =
  'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += BASE62[randomInt(62)];
  return out;
}

/** GitHub's token format: prefix, random base62, then a 6-character base62 CRC32 checksum. */
export function generateToken(prefix: 'gho' | 'ghu' | 'ghr', length: number): string {
  const random = base62(length - 6);
  let checksum = crc32(random);
  let encoded = '';
  for (let i = 0; i < 6; i += 1) {
    encoded = BASE62[checksum % 62] + encoded;
    checksum = Math.floor(checksum / 62);
  }
  return `${prefix}_${random}${encoded}`;
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function parseScopes(scope: string | null | undefined): string[] {
  return (scope ?? '').split(/[\s,]+/).filter((s) => s.length > 0);
}

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/**
 * GitHub's rule: same scheme and host, same port (except on loopback, RFC 8252), and the
 * path equal to or below the registered callback's path.
 */
export function redirectUriAllowed(settings: OAuthSettings, redirectUri: string): boolean {
  if (settings.callbackUrls === null) return true;
  let given: URL;
  try {
    given = new URL(redirectUri);
  } catch {
    return false;
  }
  return settings.callbackUrls.some((registered) => {
    const r = new URL(registered);
    if (r.protocol !== given.protocol || r.hostname !== given.hostname) return false;
    if (!isLoopback(r.hostname) && r.port !== given.port) return false;
    const base = r.pathname.endsWith('/') ? r.pathname : `${r.pathname}/`;
    return given.pathname === r.pathname || given.pathname.startsWith(base);
  });
}

export function issueCode(
  core: FakeCore,
  settings: OAuthSettings,
  input: {
    userLogin: string;
    scopes?: string[];
    redirectUri?: string | null;
    codeChallenge?: string | null;
    codeChallengeMethod?: string | null;
    expiring?: boolean;
  },
): string {
  const user = core.state.users.get(input.userLogin.toLowerCase());
  if (!user) throw new Error(`fake-github: no user "${input.userLogin}"; call addUser() first`);
  const code = randomBytes(10).toString('hex');
  const record: FakeCode = {
    code,
    clientId: settings.clientId,
    userLogin: user.login,
    scopes: input.scopes ?? [],
    redirectUri: input.redirectUri ?? null,
    codeChallenge: input.codeChallenge ?? null,
    codeChallengeMethod: input.codeChallenge ? (input.codeChallengeMethod ?? 'S256') : null,
    expiring: input.expiring ?? settings.expiringTokens,
    expiresAt: core.now() + CODE_TTL_MS,
    used: false,
  };
  core.state.codes.set(code, record);
  return code;
}

// ---------------------------------------------------------------------------------------
// The authorize page

export interface WebReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status: number, title: string, content: string): WebReply {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main>${content}</main></body></html>`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
}

function redirect(target: string): WebReply {
  return { status: 302, headers: { location: target }, body: '' };
}

function withQuery(base: string, values: Record<string, string | null>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(values)) {
    if (value !== null) url.searchParams.set(name, value);
  }
  return url.toString();
}

const AUTHORIZE_FIELDS = [
  'client_id',
  'redirect_uri',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
];

/**
 * GET shows the consent page (or, with autoApprove, redirects at once); POST is the page's
 * form: `decision=authorize|cancel` plus the original parameters and the chosen `login`.
 */
export function handleAuthorize(
  core: FakeCore,
  settings: OAuthSettings,
  method: string,
  params: URLSearchParams,
): WebReply {
  const clientId = params.get('client_id');
  if (clientId !== settings.clientId) {
    return page(
      404,
      'Not Found',
      '<h1>404</h1><p>This is not the web page you are looking for.</p>',
    );
  }
  const state = params.get('state');
  const firstCallback = settings.callbackUrls?.[0] ?? null;
  const redirectUri = params.get('redirect_uri') ?? firstCallback;
  if (redirectUri === null) {
    return page(
      400,
      'Bad request',
      '<p>fake-github: no redirect_uri and no registered callback URL.</p>',
    );
  }
  if (!redirectUriAllowed(settings, redirectUri)) {
    // GitHub sends the error to the registered callback, not to the unverified redirect_uri.
    if (firstCallback === null) return page(400, 'Bad request', '<p>redirect_uri mismatch</p>');
    return redirect(
      withQuery(firstCallback, {
        error: 'redirect_uri_mismatch',
        error_description:
          'The redirect_uri MUST match the registered callback URL for this application.',
        error_uri:
          'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch',
        state,
      }),
    );
  }
  const codeChallenge = params.get('code_challenge');
  const challengeMethod = params.get('code_challenge_method');
  if (codeChallenge !== null && challengeMethod !== 'S256') {
    return page(
      400,
      'Bad request',
      '<p>code_challenge_method must be S256 (GitHub supports no other).</p>',
    );
  }
  const login = params.get('login') ?? settings.signedInLogin;
  const user: FakeUser | undefined =
    login === null ? undefined : core.state.users.get(login.toLowerCase());
  const decision =
    method === 'POST' ? params.get('decision') : settings.autoApprove ? 'authorize' : null;

  if (decision === 'cancel') {
    return redirect(
      withQuery(redirectUri, {
        error: 'access_denied',
        error_description: 'The user has denied your application access.',
        error_uri:
          'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied',
        state,
      }),
    );
  }
  if (decision === 'authorize' && user) {
    const code = issueCode(core, settings, {
      userLogin: user.login,
      scopes: parseScopes(params.get('scope')),
      redirectUri: params.get('redirect_uri'),
      codeChallenge,
      codeChallengeMethod: challengeMethod,
    });
    return redirect(withQuery(redirectUri, { code, state }));
  }
  if (decision === 'authorize' && settings.autoApprove && method === 'GET') {
    return page(
      400,
      'Bad request',
      '<p>fake-github: autoApprove needs a signed-in user (signedInLogin or ?login=).</p>',
    );
  }
  const hidden = AUTHORIZE_FIELDS.map((name) => {
    const value = params.get(name);
    return value === null
      ? ''
      : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  }).join('');
  const problem = decision === 'authorize' ? '<p role="alert">Unknown GitHub user.</p>' : '';
  return page(
    200,
    'Authorize application',
    `<h1>Authorize application</h1>${problem}
<form method="post" action="/login/oauth/authorize">${hidden}
<label>Signed in as <input name="login" value="${escapeHtml(user?.login ?? login ?? '')}"></label>
<p>Requested scopes: ${escapeHtml(params.get('scope') ?? '(none)')}</p>
<button type="submit" name="decision" value="authorize" id="js-oauth-authorize-btn">Authorize</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>`,
  );
}

// ---------------------------------------------------------------------------------------
// The token endpoint

type TokenAnswer = Record<string, string | number>;

function tokenError(error: string, description: string, anchor: string): TokenAnswer {
  return { error, error_description: description, error_uri: `${TROUBLESHOOTING}/#${anchor}` };
}

/** Issues a token (and, when expiring, a refresh token) under the user's grant. */
export function grantTokens(
  core: FakeCore,
  settings: OAuthSettings,
  grant: { userLogin: string; scopes: string[]; expiring: boolean },
): TokenAnswer {
  const now = core.now();
  const grantId = `${settings.clientId}:${grant.userLogin.toLowerCase()}`;
  const token: FakeAccessToken = {
    token: generateToken(grant.expiring ? 'ghu' : 'gho', 36),
    clientId: settings.clientId,
    userLogin: grant.userLogin,
    grantId,
    scopes: grant.expiring ? [] : grant.scopes,
    expiresAt: grant.expiring ? now + ACCESS_TOKEN_TTL_SECONDS * 1000 : null,
    revoked: false,
    createdAt: now,
  };
  core.state.accessTokens.set(token.token, token);
  if (!grant.expiring) {
    return { access_token: token.token, scope: grant.scopes.join(','), token_type: 'bearer' };
  }
  const refresh = generateToken('ghr', 76);
  core.state.refreshTokens.set(refresh, {
    token: refresh,
    clientId: settings.clientId,
    userLogin: grant.userLogin,
    grantId,
    scopes: [],
    accessToken: token.token,
    expiresAt: now + REFRESH_TOKEN_TTL_SECONDS * 1000,
    used: false,
    revoked: false,
  });
  // GitHub App user tokens carry no OAuth scopes: `scope` is present but empty.
  return {
    access_token: token.token,
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    refresh_token: refresh,
    refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS,
    scope: '',
    token_type: 'bearer',
  };
}

function exchange(core: FakeCore, settings: OAuthSettings, params: URLSearchParams): TokenAnswer {
  if (
    params.get('client_id') !== settings.clientId ||
    params.get('client_secret') !== settings.clientSecret
  ) {
    return tokenError(
      'incorrect_client_credentials',
      'The client_id and/or client_secret passed are incorrect.',
      'incorrect-client-credentials',
    );
  }
  const grantType = params.get('grant_type') ?? 'authorization_code';
  if (grantType === 'refresh_token') {
    const record = core.state.refreshTokens.get(params.get('refresh_token') ?? '');
    if (
      !record ||
      record.used ||
      record.revoked ||
      record.expiresAt <= core.now() ||
      record.clientId !== settings.clientId
    ) {
      return tokenError(
        'bad_refresh_token',
        'The refresh token passed is incorrect or expired.',
        'bad-refresh-token',
      );
    }
    // Rotation: the refresh token and the access token it was paired with both stop working.
    record.used = true;
    const previous = core.state.accessTokens.get(record.accessToken);
    if (previous) previous.revoked = true;
    core.counters.refreshGrants += 1;
    return grantTokens(core, settings, {
      userLogin: record.userLogin,
      scopes: record.scopes,
      expiring: true,
    });
  }
  if (grantType !== 'authorization_code') {
    return tokenError(
      'unsupported_grant_type',
      `The grant type ${grantType} is not supported.`,
      'unsupported-grant-type',
    );
  }
  const code = core.state.codes.get(params.get('code') ?? '');
  const badCode = () =>
    tokenError(
      'bad_verification_code',
      'The code passed is incorrect or expired.',
      'bad-verification-code',
    );
  if (!code || code.used || code.expiresAt <= core.now() || code.clientId !== settings.clientId)
    return badCode();
  const redirectUri = params.get('redirect_uri');
  if (redirectUri !== null && code.redirectUri !== null && redirectUri !== code.redirectUri) {
    return tokenError(
      'redirect_uri_mismatch',
      'The redirect_uri MUST match the registered callback URL for this application.',
      'redirect-uri-mismatch2',
    );
  }
  if (code.codeChallenge !== null) {
    const verifier = params.get('code_verifier');
    if (verifier === null || s256(verifier) !== code.codeChallenge) return badCode();
  }
  code.used = true;
  core.counters.codeGrants += 1;
  return grantTokens(core, settings, {
    userLogin: code.userLogin,
    scopes: code.scopes,
    expiring: code.expiring,
  });
}

/**
 * `POST /login/oauth/access_token`. Parameters may come as a form, as JSON or in the query
 * string. The answer is form-encoded unless the client asks for JSON, and errors are still
 * HTTP 200 with an `error` field — the quirk OAuth clients most often get wrong.
 */
export function handleAccessToken(
  core: FakeCore,
  settings: OAuthSettings,
  params: URLSearchParams,
  accept: string | undefined,
): WebReply {
  const answer = exchange(core, settings, params);
  if ('error' in answer) core.counters.tokenErrors += 1;
  if (accept?.includes('application/json')) {
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(answer),
    };
  }
  const form = new URLSearchParams(Object.entries(answer).map(([k, v]) => [k, String(v)]));
  return {
    status: 200,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form.toString(),
  };
}

/** Parses `Authorization` for REST calls: a live user token, a bad one, or none. */
export function authenticate(
  core: FakeCore,
  authorization: string | undefined,
): { token: FakeAccessToken; user: FakeUser } | 'bad' | null {
  if (authorization === undefined) return null;
  const match = /^(token|bearer)\s+(\S+)$/i.exec(authorization.trim());
  if (!match) return /^basic\s/i.test(authorization) ? null : 'bad';
  const token = core.state.accessTokens.get(match[2] ?? '');
  if (!token || token.revoked || (token.expiresAt !== null && token.expiresAt <= core.now()))
    return 'bad';
  const user = core.state.users.get(token.userLogin.toLowerCase());
  return user ? { token, user } : 'bad';
}

function requireClientBasicAuth(ctx: RestContext, settings: OAuthSettings): void {
  const header = ctx.headers['authorization'];
  const value = typeof header === 'string' ? header : '';
  const match = /^basic\s+(\S+)$/i.exec(value);
  const [id, secret] = match
    ? Buffer.from(match[1] ?? '', 'base64')
        .toString('utf8')
        .split(':')
    : [];
  if (
    id !== settings.clientId ||
    secret !== settings.clientSecret ||
    ctx.params['client_id'] !== settings.clientId
  ) {
    throw new ApiError(404, 'Not Found');
  }
}

function tokenFromBody(ctx: RestContext): FakeAccessToken {
  const accessToken = (ctx.body as { access_token?: unknown } | undefined)?.access_token;
  const token =
    typeof accessToken === 'string' ? ctx.core.state.accessTokens.get(accessToken) : undefined;
  if (!token || token.revoked) throw new ApiError(404, 'Not Found');
  return token;
}

/** `DELETE /applications/{client_id}/grant`: revokes every token of the user's grant. */
export function deleteGrant(ctx: RestContext, settings: OAuthSettings): RestReply {
  requireClientBasicAuth(ctx, settings);
  const { grantId } = tokenFromBody(ctx);
  for (const token of ctx.core.state.accessTokens.values()) {
    if (token.grantId === grantId) token.revoked = true;
  }
  for (const refresh of ctx.core.state.refreshTokens.values()) {
    if (refresh.grantId === grantId) refresh.revoked = true;
  }
  ctx.core.counters.grantRevocations += 1;
  return { status: 204 };
}

/** `DELETE /applications/{client_id}/token`: revokes one token. */
export function deleteToken(ctx: RestContext, settings: OAuthSettings): RestReply {
  requireClientBasicAuth(ctx, settings);
  tokenFromBody(ctx).revoked = true;
  ctx.core.counters.tokenRevocations += 1;
  return { status: 204 };
}
