// Schemas of the workflow run routes (tag "workflows"): runs with their jobs and steps,
// statistics, and re-running through GitHub.
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
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const RunStatus = Type.Union(
  ['requested', 'pending', 'queued', 'waiting', 'in_progress', 'completed'].map((s) =>
    Type.Literal(s),
  ),
);
export const RunConclusion = Type.Union(
  [
    'success',
    'failure',
    'neutral',
    'cancelled',
    'skipped',
    'timed_out',
    'action_required',
    'stale',
    'startup_failure',
  ].map((s) => Type.Literal(s)),
);

export const RunListQuery = Type.Object({
  repository: Type.Optional(Type.String({ maxLength: 201, description: 'owner/name' })),
  connection_id: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(RunStatus),
  conclusion: Type.Optional(RunConclusion),
  branch: Type.Optional(Type.String({ maxLength: 255 })),
  workflow: Type.Optional(Type.String({ maxLength: 200, description: 'Workflow name or id' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Created before' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 30 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const Run = Type.Object({
  id: Type.String({ format: 'uuid' }),
  connection_id: Type.String({ format: 'uuid' }),
  repository: Type.String(),
  github_run_id: Type.Integer(),
  run_attempt: Type.Integer(),
  run_number: NullableInt,
  workflow: Type.Object({ id: NullableInt, name: NullableString, path: NullableString }),
  display_title: NullableString,
  event: NullableString,
  status: Type.String(),
  conclusion: NullableString,
  head_branch: NullableString,
  head_sha: NullableString,
  commit_message: NullableString,
  actor: NullableString,
  html_url: NullableString,
  run_started_at: NullableTime,
  created_at: NullableTime,
  updated_at: NullableTime,
  completed_at: NullableTime,
  duration_ms: NullableInt,
  placeholder: Type.Boolean({
    description: 'Only a job of this run has been seen so far; details follow with its run event',
  }),
});

export const Step = Type.Object({
  number: Type.Integer(),
  name: Type.String(),
  status: Type.String(),
  conclusion: NullableString,
  started_at: NullableString,
  completed_at: NullableString,
});

export const Job = Type.Object({
  id: Type.String({ format: 'uuid' }),
  github_job_id: Type.Integer(),
  run_attempt: Type.Integer(),
  name: Type.String(),
  status: Type.String(),
  conclusion: NullableString,
  failed_steps: Type.Array(Type.String()),
  runner_name: NullableString,
  labels: Type.Array(Type.String()),
  html_url: NullableString,
  started_at: NullableTime,
  completed_at: NullableTime,
  steps: Type.Array(Step),
});

export const RunList = Type.Object({
  items: Type.Array(Run),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const RunDetail = Type.Intersect([
  Run,
  Type.Object({ jobs: Type.Array(Job, { description: 'Every attempt, newest first' }) }),
]);

export const RunParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const RerunBody = Type.Object(
  { failed_only: Type.Boolean({ default: false, description: 'Re-run only failed jobs' }) },
  { additionalProperties: false },
);

export const RerunAccepted = Type.Object({
  id: Type.String({ format: 'uuid' }),
  github_run_id: Type.Integer(),
  failed_only: Type.Boolean(),
  requested: Type.Literal(true),
});

export const StatsQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Default: 7 days ago' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now' })),
  connection_id: Type.Optional(Type.String({ format: 'uuid' })),
});

const Rates = {
  runs: Type.Integer(),
  completed: Type.Integer(),
  success: Type.Integer(),
  failure: Type.Integer({ description: 'failure, timed_out and startup_failure' }),
  cancelled: Type.Integer(),
  success_rate: Type.Union([Type.Number(), Type.Null()], { description: 'Of completed runs' }),
  failure_rate: Type.Union([Type.Number(), Type.Null()], { description: 'Of completed runs' }),
  duration_p50_ms: NullableInt,
  duration_p95_ms: NullableInt,
};

export const WorkflowStats = Type.Object({
  since: Time,
  until: Time,
  totals: Type.Object(Rates),
  by_repository: Type.Array(
    Type.Object({ connection_id: Type.String(), repository: Type.String(), ...Rates }),
  ),
  by_workflow: Type.Array(
    Type.Object({
      connection_id: Type.String(),
      repository: Type.String(),
      workflow: Type.String(),
      ...Rates,
    }),
  ),
});
