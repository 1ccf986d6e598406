// Schemas of the API token routes (tag "tokens"). The secret is only in CreatedToken.
import { Type } from '@fastify/type-provider-typebox';
import { ScopeName } from '../account/schemas.ts';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const TokenParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ApiToken = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({
    description: '"ffx_" and the lookup prefix: identifies, never authenticates',
  }),
  last4: Type.String(),
  masked: Type.String({ description: 'For display: ffx_…abcd' }),
  scopes: Type.Array(ScopeName),
  active: Type.Boolean(),
  expired: Type.Boolean(),
  expires_at: NullableTime,
  last_used_at: Type.Union([Time, Type.Null()], {
    description: 'Updated at most once a minute',
  }),
  created_at: Time,
});

export const CreatedToken = Type.Intersect([
  ApiToken,
  Type.Object({
    token: Type.String({
      description: 'The token itself. Shown this once; Flowfix keeps only a hash',
    }),
  }),
]);

export const CreateTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  scopes: Type.Array(ScopeName, {
    minItems: 1,
    maxItems: 20,
    description: 'Must be scopes the caller holds',
  }),
  expires_at: Type.Optional(NullableTime),
  expires_in_days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 3650, description: 'Alternative to expires_at' }),
  ),
});

export const UpdateTokenBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    active: Type.Optional(Type.Boolean()),
  },
  { minProperties: 1 },
);

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const TokenList = Type.Object({
  items: Type.Array(ApiToken),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];
