// Schemas of the webhook delivery routes (tag "webhooks"): the delivery log, one delivery
// with its payload, and replaying a stored delivery.
import { Type } from '@fastify/type-provider-typebox';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

export const errorsFor = (...codes: Array<400 | 401 | 403 | 404 | 410 | 503>) =>
  Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<number, typeof ErrorResponse>;

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

export const DeliveryParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const DeliveryOutcome = Type.Union(
  [Type.Literal('processed'), Type.Literal('ignored'), Type.Literal('error')],
  { description: 'processed; ignored (reason says why); error (reason is the error)' },
);

export const DeliveryListQuery = Type.Object({
  connection_id: Type.Optional(Type.String({ format: 'uuid' })),
  event: Type.Optional(
    Type.String({ maxLength: 64, description: 'X-GitHub-Event, e.g. workflow_run' }),
  ),
  outcome: Type.Optional(DeliveryOutcome),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 30 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const Delivery = Type.Object({
  id: Type.String({ format: 'uuid' }),
  delivery_id: Type.String({
    description: "GitHub's X-GitHub-Delivery; `{that id}:replay:{n}` for a replay",
  }),
  replay: Type.Union(
    [
      Type.Object({
        number: Type.Integer({ minimum: 1 }),
        of_delivery_id: Type.String({ description: "GitHub's delivery id that was replayed" }),
      }),
      Type.Null(),
    ],
    { description: 'Null for a delivery from GitHub' },
  ),
  connection_id: Type.String({ format: 'uuid' }),
  repository: Type.String({ description: 'owner/name' }),
  hook: Type.Union([Type.Literal('repository'), Type.Literal('app')], {
    description: "The repository's own hook, or the app-level hook (GITHUB_WEBHOOK_SECRET)",
  }),
  event: Type.String(),
  action: NullableString,
  outcome: DeliveryOutcome,
  reason: NullableString,
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  received_at: Type.String({ format: 'date-time' }),
});

export const DeliveryList = Type.Object({
  items: Type.Array(Delivery),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const DeliveryDetail = Type.Intersect([
  Delivery,
  Type.Object({
    payload: Type.Unknown({
      description:
        'The payload as GitHub sent it (a JSON object); null once no longer kept (WEBHOOK_PAYLOAD_RETENTION_DAYS) or never kept',
    }),
  }),
]);

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
