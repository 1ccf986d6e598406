// Schemas of the webhook delivery routes (tag "webhooks"): replaying a stored delivery.
import { Type } from '@fastify/type-provider-typebox';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

export const errorsFor = (...codes: Array<400 | 401 | 403 | 404 | 410 | 503>) =>
  Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<number, typeof ErrorResponse>;

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

export const DeliveryParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Replayed = Type.Object({
  id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: "The replay's own delivery record",
  }),
  delivery_id: Type.String({ description: "`{GitHub's delivery id}:replay:{n}`" }),
  replay_of: Type.String({ format: 'uuid', description: 'The delivery that was replayed' }),
  outcome: Type.Union(
    [
      Type.Literal('processed'),
      Type.Literal('ignored'),
      Type.Literal('duplicate'),
      Type.Literal('invalid'),
    ],
    {
      description:
        'As for a delivery from GitHub: processed, ignored (say why in reason), invalid (recorded as an error), duplicate (a concurrent replay took the same number)',
    },
  ),
  reason: Type.Optional(Type.String()),
});
