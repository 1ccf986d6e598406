// Schemas of the GitHub sign-in / connection routes (OpenAPI tag "oauth").
import { Type } from '@fastify/type-provider-typebox';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

export const ReturnTo = Type.String({
  maxLength: 2000,
  description: 'Where to land after sign-in: a relative path on this site (default /admin)',
});

export const AuthorizeBody = Type.Object({ returnTo: Type.Optional(ReturnTo) });
export const AuthorizeQuery = Type.Object({ returnTo: Type.Optional(ReturnTo) });
export const AuthorizeResponse = Type.Object({
  authorization_url: Type.String({
    description:
      'Open this URL in the same browser: the state and PKCE cookies set by this response bind the flow to it',
  }),
});

const Param = Type.Optional(Type.String({ maxLength: 2000 }));
export const CallbackQuery = Type.Object({
  code: Param,
  state: Param,
  error: Param,
  error_description: Param,
  error_uri: Param,
});

export const HtmlPage = Type.String({ description: 'An HTML page explaining what went wrong' });
export const Redirect = Type.Null({ description: 'Redirect (Location header)' });

export const Connection = Type.Object({
  provider: Type.Literal('github'),
  login: Type.String(),
  github_user_id: Type.Number(),
  status: Type.Union([Type.Literal('active'), Type.Literal('needs_reconnect')]),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String(), {
    description: 'OAuth scopes granted (empty for GitHub App user tokens, which have none)',
  }),
  token_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  refresh_token_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_refreshed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  connected_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const ConnectionList = Type.Object({
  items: Type.Array(Connection),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Always null: one connection per provider',
  }),
});

export const DisconnectResponse = Type.Object({
  disconnected: Type.Literal(true),
  upstream_revoked: Type.Boolean({
    description: 'false when GitHub could not be reached; the local data is removed anyway',
  }),
  webhooks_removed: Type.Integer(),
  webhooks_failed: Type.Integer(),
  repositories_removed: Type.Integer(),
});

/** OpenAPI security: a browser session cookie or an API token. */
export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];
