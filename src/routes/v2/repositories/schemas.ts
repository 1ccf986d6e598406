// Schemas of the repository routes (tag "repositories"): the user's GitHub repositories,
// connections (a watched repository and its webhook) and their statistics. Webhook secrets
// never appear in any of them.
import { Type } from '@fastify/type-provider-typebox';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

export const errorsFor = (...codes: Array<400 | 401 | 403 | 404 | 409 | 502 | 503>) =>
  Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<number, typeof ErrorResponse>;

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const FULL_NAME = '^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$';

export const AutofixMode = Type.Union(
  [Type.Literal('off'), Type.Literal('suggest'), Type.Literal('pull_request')],
  { description: 'off: never; suggest: analyse and propose; pull_request: open a fix PR' },
);

/** A branch name: none of git's forbidden characters (surrounding spaces are trimmed). */
const Branch = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[^\\x00-\\x1f\\x7f~^:?*\\[\\\\]+$',
});

export const ConnectionSettingsBody = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({ description: 'false: deliveries are recorded, ignored' }),
    ),
    watched_branches: Type.Optional(
      Type.Array(Branch, { maxItems: 50, description: 'Empty: every branch' }),
    ),
    autofix_mode: Type.Optional(AutofixMode),
    fix_budget_per_day: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    fix_budget_per_month: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
    auto_rerun_infrastructure: Type.Optional(
      Type.Boolean({ description: 'Re-run runs that failed for infrastructure reasons' }),
    ),
  },
  { additionalProperties: false },
);

export const UpdateConnectionBody = Type.Object(ConnectionSettingsBody.properties, {
  additionalProperties: false,
  minProperties: 1,
});

export const ConnectBody = Type.Object(
  {
    full_name: Type.Optional(Type.String({ pattern: FULL_NAME, description: 'owner/name' })),
    repository_id: Type.Optional(Type.Integer({ minimum: 1, description: 'GitHub repository id' })),
    settings: Type.Optional(ConnectionSettingsBody),
  },
  { additionalProperties: false },
);

export const ConnectionParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Health = Type.Object({
  deliveries_24h: Type.Integer(),
  failures_24h: Type.Integer(),
  last_delivery_at: NullableTime,
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_error_at: NullableTime,
});

export const Connection = Type.Object({
  id: Type.String({ format: 'uuid' }),
  repository: Type.Object({
    id: Type.Integer(),
    full_name: Type.String(),
    default_branch: Type.String(),
    private: Type.Boolean(),
    html_url: Type.Union([Type.String(), Type.Null()]),
  }),
  enabled: Type.Boolean(),
  watched_branches: Type.Array(Type.String()),
  autofix_mode: Type.String(),
  fix_budget_per_day: Type.Integer(),
  fix_budget_per_month: Type.Integer(),
  auto_rerun_infrastructure: Type.Boolean(),
  webhook: Type.Object({
    id: Type.Union([Type.Integer(), Type.Null()]),
    url: Type.String(),
    verified_at: Type.Union([Time, Type.Null()], { description: 'When its ping arrived' }),
    last_delivery_at: Type.Union([Time, Type.Null()], { description: 'To the minute' }),
    previous_secret_valid_until: Type.Union([Time, Type.Null()], {
      description: 'After a rotation, until when the old secret still verifies',
    }),
  }),
  health: Type.Optional(Health),
  created_at: Time,
  updated_at: Time,
});

export const ConnectResult = Type.Object({
  created: Type.Boolean({ description: 'false: the repository was already connected' }),
  connection: Connection,
});

export const ConnectionListQuery = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  verified: Type.Optional(Type.Boolean({ description: 'Whether the hook ping arrived' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of owner/name' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 30 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const ConnectionList = Type.Object({
  items: Type.Array(Connection),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const DeleteQuery = Type.Object({
  force: Type.Boolean({
    default: false,
    description: 'Remove the connection even when the hook cannot be removed on GitHub',
  }),
});

export const Disconnected = Type.Object({
  id: Type.String({ format: 'uuid' }),
  deleted: Type.Literal(true),
  hook_removed: Type.Boolean(),
  hook_error: Type.Union([Type.String(), Type.Null()]),
});

export const GitHubRepositoryQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of owner/name' })),
  sort: Type.Union(
    [
      Type.Literal('full_name'),
      Type.Literal('created'),
      Type.Literal('updated'),
      Type.Literal('pushed'),
    ],
    { default: 'full_name' },
  ),
  direction: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  connected: Type.Optional(Type.Boolean()),
  admin: Type.Optional(Type.Boolean({ description: 'true: only where you may add webhooks' })),
  page: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
});

export const GitHubRepository = Type.Object({
  id: Type.Integer(),
  full_name: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  private: Type.Boolean(),
  archived: Type.Boolean(),
  description: Type.Union([Type.String(), Type.Null()]),
  default_branch: Type.String(),
  html_url: Type.String(),
  pushed_at: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.Union([Type.String(), Type.Null()]),
  admin: Type.Boolean({ description: 'You may add webhooks (needed to connect)' }),
  connected: Type.Boolean(),
  connection_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
});

export const GitHubRepositoryList = Type.Object({
  items: Type.Array(GitHubRepository),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
});

export const StatsQuery = Type.Object({
  days: Type.Integer({ minimum: 1, maximum: 90, default: 7 }),
});

export const RepositoryStats = Type.Object({
  since: Time,
  until: Time,
  connections: Type.Object({
    total: Type.Integer(),
    enabled: Type.Integer(),
    verified: Type.Integer(),
  }),
  repositories: Type.Array(
    Type.Object({
      connection_id: Type.String({ format: 'uuid' }),
      full_name: Type.String(),
      enabled: Type.Boolean(),
      verified: Type.Boolean(),
      runs: Type.Integer(),
      failures: Type.Integer(),
      failure_rate: Type.Union([Type.Number(), Type.Null()]),
      last_run_at: NullableTime,
      deliveries: Type.Integer(),
      delivery_failures: Type.Integer(),
      last_delivery_at: NullableTime,
      last_error: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
