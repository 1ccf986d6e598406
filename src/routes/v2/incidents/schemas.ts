// Schemas of the incident routes (tag "incidents").
import { Type } from '@fastify/type-provider-typebox';
import { INCIDENT_STATUSES } from '../../../db/stores/incidents-store.ts';
import { FAILURE_TYPES } from '../../../services/analysis/types.ts';
import { MAX_NOTE_LENGTH } from '../../../services/incidents/change-status.ts';
import { SEVERITIES } from '../../../services/incidents/severity.ts';

export const ErrorResponse = Type.Object(
  { error: Type.String(), code: Type.String(), message: Type.String() },
  { description: 'An error: HTTP reason, FFX_ERR_* code and a message' },
);

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
/** A string enum: one `enum` in the OpenAPI document, the literal union in TypeScript. */
const literals = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

export const Status = literals(INCIDENT_STATUSES);
export const Severity = literals(SEVERITIES);
export const FailureType = literals(FAILURE_TYPES);

export const IncidentParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ListQuery = Type.Object({
  status: Type.Optional(Status),
  severity: Type.Optional(Severity),
  repository: Type.Optional(
    Type.String({ maxLength: 200, description: 'owner/name, case-insensitive' }),
  ),
  failure_type: Type.Optional(FailureType),
  branch: Type.Optional(Type.String({ maxLength: 255 })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
});

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 300 })),
});

export const Incident = Type.Object({
  id: Type.String({ format: 'uuid' }),
  title: Type.String(),
  status: Status,
  severity: Severity,
  repository: Type.String({ description: 'owner/name' }),
  connection_id: Type.String({ format: 'uuid' }),
  workflow_id: Type.Union([Type.Integer(), Type.Null()]),
  workflow_name: NullableString,
  branch: NullableString,
  failed_jobs: Type.Array(Type.String()),
  occurrences: Type.Integer(),
  flaky: Type.Boolean({
    description: 'Every failed job passed on a re-run of the same commit: no fix is attempted',
  }),
  failure_type: Type.Union([FailureType, Type.Null()]),
  first_error: NullableString,
  analysis_status: literals(
    ['pending', 'running', 'done', 'failed'],
    'pending and running: an analysis is queued or in progress',
  ),
  opened_at: Time,
  last_seen_at: Time,
  acknowledged_at: NullableTime,
  resolved_at: NullableTime,
  resolved_by: Type.Union([Type.Literal('green_run'), Type.Literal('manual'), Type.Null()]),
});

export const Reference = Type.Object({
  file: Type.String(),
  line: Type.Optional(Type.Integer()),
  column: Type.Optional(Type.Integer()),
});

export const Analysis = Type.Object({
  status: Type.String(),
  error: NullableString,
  analysed_at: NullableTime,
  failure_type: Type.Union([FailureType, Type.Null()]),
  summary: NullableString,
  first_error: NullableString,
  references: Type.Array(Reference),
  log_excerpt: Type.Union([Type.String(), Type.Null()], {
    description: 'The error region of the log, token-shaped strings scrubbed',
  }),
});

export const Occurrence = Type.Object({
  id: Type.String({ format: 'uuid' }),
  run_attempt: Type.Integer(),
  occurred_at: Time,
  run: Type.Object({
    id: Type.String({ format: 'uuid' }),
    github_run_id: Type.Union([Type.Integer(), Type.Null()]),
    run_number: Type.Union([Type.Integer(), Type.Null()]),
    conclusion: NullableString,
    event: NullableString,
    head_sha: NullableString,
    head_branch: NullableString,
    commit_message: NullableString,
    actor: NullableString,
    title: NullableString,
    html_url: NullableString,
  }),
});

export const TimelineEvent = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Type.String({
    description:
      'opened, occurrence, reopened, resolved, acknowledged, ignored, note, analysed, analysis_failed, analysis_requested, flaky, marked_flaky, jobs_updated, rerun',
  }),
  actor: Type.String({ description: '"system" or the login of the person' }),
  note: NullableString,
  data: Type.Record(Type.String(), Type.Unknown()),
  created_at: Time,
});

export const FailedJob = Type.Object({
  name: Type.String(),
  github_job_id: Type.Integer(),
  conclusion: NullableString,
  failed_steps: Type.Array(Type.String()),
  html_url: NullableString,
});

export const FlakeRate = Type.Object({
  job: Type.String(),
  commits: Type.Integer({ description: 'Commits on which the job ran in the window' }),
  flaky_commits: Type.Integer({ description: 'Of those, commits where it failed, then passed' }),
  rate: Type.Number({ minimum: 0, maximum: 1 }),
  window_days: Type.Integer(),
});

export const StatusCounts = Type.Object({
  open: Type.Integer(),
  acknowledged: Type.Integer(),
  resolved: Type.Integer(),
  ignored: Type.Integer(),
});

export const IncidentList = Type.Object({
  items: Type.Array(Incident),
  next_cursor: NullableString,
  counts: StatusCounts,
});

export const OccurrencePage = Type.Object({
  items: Type.Array(Occurrence),
  next_cursor: NullableString,
});

export const TimelinePage = Type.Object({
  items: Type.Array(TimelineEvent),
  next_cursor: NullableString,
});

export const IncidentDetail = Type.Object({
  incident: Incident,
  repository_url: NullableString,
  analysis: Analysis,
  failed_jobs: Type.Array(FailedJob, { description: 'Of the latest failing run attempt' }),
  flake_rates: Type.Array(FlakeRate),
  occurrences: Type.Object({
    items: Type.Array(Occurrence),
    next_cursor: NullableString,
    total: Type.Integer(),
  }),
  timeline: TimelinePage,
});

export const UpdateBody = Type.Object(
  {
    status: Type.Optional(
      literals(
        INCIDENT_STATUSES,
        'acknowledged, resolved (resolved_by manual), ignored, or open to reopen',
      ),
    ),
    note: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NOTE_LENGTH })),
  },
  { minProperties: 1, additionalProperties: false },
);

export const AnalyseAccepted = Type.Object({
  status: Type.Literal('queued'),
  job_key: Type.String({ description: 'The queue job id of this analysis' }),
});

export const cookieOrBearer: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];
