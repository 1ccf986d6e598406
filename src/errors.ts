// Coded errors. Handlers throw these; the one error handler (app.ts) shapes the reply
// as { error, code, message } and hides the details of 5xx errors.
import createErrorFactory from '@fastify/error';

export type FfxErrorCtor = ReturnType<typeof createErrorFactory>;

function createError(code: `FFX_ERR_${string}`, message: string, statusCode: number): FfxErrorCtor {
  return createErrorFactory(code, message, statusCode);
}

export const errors = {
  CONFIG: createError('FFX_ERR_CONFIG', '%s', 500),
  BAD_REQUEST: createError('FFX_ERR_BAD_REQUEST', '%s', 400),
  UNAUTHENTICATED: createError('FFX_ERR_UNAUTHENTICATED', '%s', 401),
  FORBIDDEN: createError('FFX_ERR_FORBIDDEN', '%s', 403),
  NOT_FOUND: createError('FFX_ERR_NOT_FOUND', '%s not found', 404),
  CONFLICT: createError('FFX_ERR_CONFLICT', '%s', 409),
  GONE: createError('FFX_ERR_GONE', '%s', 410),
  CSRF: createError('FFX_ERR_CSRF', 'Missing or invalid CSRF token', 403),
  OAUTH_STATE: createError('FFX_ERR_OAUTH_STATE', '%s', 400),
  OAUTH_NOT_CONFIGURED: createError(
    'FFX_ERR_OAUTH_NOT_CONFIGURED',
    'GitHub OAuth is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET',
    503,
  ),
  GITHUB_UPSTREAM: createError('FFX_ERR_GITHUB_UPSTREAM', 'GitHub request failed: %s', 502),
  GITHUB_RECONNECT: createError(
    'FFX_ERR_GITHUB_RECONNECT',
    'The GitHub connection needs to be reconnected: %s',
    409,
  ),
  WEBHOOK_SIGNATURE: createError('FFX_ERR_WEBHOOK_SIGNATURE', '%s', 401),
  DECRYPT: createError('FFX_ERR_DECRYPT', '%s', 500),
  UNAVAILABLE: createError('FFX_ERR_UNAVAILABLE', '%s', 503),
} as const;
