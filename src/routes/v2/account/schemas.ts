// Schemas of the account routes: who am I, and ending a browser session (tag "account").
import { Type } from '@fastify/type-provider-typebox';
import { ALL_SCOPES, type Scope } from '../../../services/auth/scopes.ts';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

export const ScopeName = Type.Unsafe<Scope>(
  Type.String({ enum: [...ALL_SCOPES], description: 'An API scope' }),
);

export const Me = Type.Object({
  id: Type.String({ format: 'uuid' }),
  login: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  avatar_url: Type.Union([Type.String(), Type.Null()]),
  auth: Type.Object({
    kind: Type.Union([Type.Literal('session'), Type.Literal('token')]),
    scopes: Type.Array(ScopeName),
    token_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  }),
  csrf_token: Type.Union([Type.String(), Type.Null()], {
    description:
      'Session requests only: send it as x-csrf-token on POST/PUT/PATCH/DELETE. null for API tokens, which need none',
  }),
  github: Type.Object({
    status: Type.Union([
      Type.Literal('active'),
      Type.Literal('needs_reconnect'),
      Type.Literal('not_connected'),
    ]),
    status_reason: Type.Union([Type.String(), Type.Null()]),
  }),
});

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];
