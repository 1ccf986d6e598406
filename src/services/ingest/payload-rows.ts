// GitHub's workflow_run / workflow_job objects (webhook payloads and REST answers have the
// same shape) → the rows we store. This is the boundary: every field is type-checked, URLs
// are kept only when they are http(s), and what an event cannot do without is reported.
import type { JobStep } from '../../db/schema/workflows.ts';
import type { WorkflowJobInput } from '../../db/stores/workflow-jobs-store.ts';
import type { WorkflowRunInput } from '../../db/stores/workflow-runs-store.ts';

type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

export function asString(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // Postgres text cannot hold NUL; JSON can.
  return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

export function asId(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

function asInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

function asDate(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Only http(s) links are kept: these end up in href attributes. */
export function asHttpUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : null;
  } catch {
    return null;
  }
}

/** The column is a 32-bit integer (24 days); a longer span is not a real duration. */
const MAX_DURATION_MS = 2 ** 31 - 1;

function durationMs(startedAt: Date | null, completedAt: Date | null): number | null {
  if (!startedAt || !completedAt) return null;
  const ms = completedAt.getTime() - startedAt.getTime();
  return ms >= 0 && ms <= MAX_DURATION_MS ? ms : null;
}

const FAILED_STEP_CONCLUSIONS = new Set(['failure', 'timed_out']);

export interface RowContext {
  userId: string;
  connectionId: string;
  /** When we received it: the creation time of a run GitHub gave none for. */
  receivedAt: Date;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function runFromGitHub(input: unknown, ctx: RowContext): Parsed<WorkflowRunInput> {
  const run = asObject(input);
  if (!run) return { ok: false, error: 'workflow_run is missing' };
  const id = asId(run['id']);
  const status = asString(run['status']);
  if (id === null) return { ok: false, error: 'workflow_run.id is missing or not a number' };
  if (status === null) return { ok: false, error: 'workflow_run.status is missing' };
  const startedAt = asDate(run['run_started_at']);
  const updatedAt = asDate(run['updated_at']);
  const completedAt = status === 'completed' ? updatedAt : null;
  const headCommit = asObject(run['head_commit']);
  return {
    ok: true,
    value: {
      userId: ctx.userId,
      connectionId: ctx.connectionId,
      githubRunId: id,
      runAttempt: asInt(run['run_attempt']) ?? 1,
      runNumber: asInt(run['run_number']),
      workflowId: asId(run['workflow_id']),
      workflowName: asString(run['name']),
      workflowPath: asString(run['path']),
      displayTitle: asString(run['display_title']),
      event: asString(run['event']),
      status,
      conclusion: asString(run['conclusion']),
      headBranch: asString(run['head_branch']),
      headSha: asString(run['head_sha']),
      commitMessage: asString(headCommit?.['message']),
      actorLogin:
        asString(asObject(run['actor'])?.['login']) ??
        asString(asObject(run['triggering_actor'])?.['login']),
      htmlUrl: asHttpUrl(run['html_url']),
      runStartedAt: startedAt,
      githubCreatedAt: asDate(run['created_at']) ?? startedAt ?? ctx.receivedAt,
      githubUpdatedAt: updatedAt,
      completedAt,
      durationMs: durationMs(startedAt, completedAt),
      placeholder: false,
    },
  };
}

function stepsFrom(value: unknown): JobStep[] {
  if (!Array.isArray(value)) return [];
  const steps: JobStep[] = [];
  for (const item of value) {
    const step = asObject(item);
    const name = asString(step?.['name']);
    if (!step || name === null) continue;
    steps.push({
      name,
      status: asString(step['status']) ?? 'queued',
      conclusion: asString(step['conclusion']),
      number: asInt(step['number']) ?? steps.length + 1,
      started_at: asString(step['started_at']),
      completed_at: asString(step['completed_at']),
    });
  }
  return steps;
}

export type JobRow = Omit<WorkflowJobInput, 'runId'>;

export interface JobWithRun {
  job: JobRow;
  /** What we know of the job's run, written only if the run is not stored yet. */
  placeholderRun: WorkflowRunInput;
}

export function jobFromGitHub(input: unknown, ctx: RowContext): Parsed<JobWithRun> {
  const job = asObject(input);
  if (!job) return { ok: false, error: 'workflow_job is missing' };
  const id = asId(job['id']);
  const runId = asId(job['run_id']);
  const status = asString(job['status']);
  if (id === null) return { ok: false, error: 'workflow_job.id is missing or not a number' };
  if (runId === null) return { ok: false, error: 'workflow_job.run_id is missing or not a number' };
  if (status === null) return { ok: false, error: 'workflow_job.status is missing' };
  const steps = stepsFrom(job['steps']);
  const attempt = asInt(job['run_attempt']) ?? 1;
  const headSha = asString(job['head_sha']);
  const headBranch = asString(job['head_branch']);
  const workflowName = asString(job['workflow_name']);
  const htmlUrl = asHttpUrl(job['html_url']);
  const startedAt = asDate(job['started_at']);
  const labels = Array.isArray(job['labels'])
    ? job['labels'].filter((l): l is string => typeof l === 'string')
    : [];
  const runUrl =
    htmlUrl === null ? null : /^(.*\/actions\/runs\/\d+)\/job\/\d+$/.exec(htmlUrl)?.[1];
  return {
    ok: true,
    value: {
      job: {
        connectionId: ctx.connectionId,
        githubJobId: id,
        githubRunId: runId,
        runAttempt: attempt,
        name: asString(job['name']) ?? `job ${id}`,
        status,
        conclusion: asString(job['conclusion']),
        headSha,
        headBranch,
        workflowName,
        runnerName: asString(job['runner_name']),
        labels,
        steps,
        failedSteps: steps
          .filter((s) => s.conclusion !== null && FAILED_STEP_CONCLUSIONS.has(s.conclusion))
          .map((s) => s.name),
        htmlUrl,
        startedAt,
        completedAt: asDate(job['completed_at']),
      },
      placeholderRun: {
        userId: ctx.userId,
        connectionId: ctx.connectionId,
        githubRunId: runId,
        runAttempt: attempt,
        // A running or finished job means its run has started; it cannot mean it finished.
        status: status === 'queued' || status === 'waiting' ? status : 'in_progress',
        headSha,
        headBranch,
        workflowName,
        htmlUrl: runUrl ?? null,
        runStartedAt: startedAt,
        githubCreatedAt: asDate(job['created_at']) ?? startedAt ?? ctx.receivedAt,
        placeholder: true,
      },
    },
  };
}

/**
 * The parts of a payload ingestion reads; the whole text is stored as it came, for replay and
 * debugging. A delivery waits tens of milliseconds for its transaction — long enough for V8
 * to move what it holds to the old generation — so holding the full object graph (each
 * repository object alone has a hundred fields) made the heap grow by ~80 MB between major
 * collections under load. Keep this in step with what record-webhook and payload-rows read.
 */
export function ingestedParts(payload: Record<string, unknown>): Record<string, unknown> {
  const repo = asObject(payload['repository']);
  const run = asObject(payload['workflow_run']);
  const parts: Record<string, unknown> = {
    action: payload['action'],
    hook_id: payload['hook_id'],
    workflow_job: payload['workflow_job'],
  };
  if (repo) {
    parts['repository'] = {
      id: repo['id'],
      full_name: repo['full_name'],
      default_branch: repo['default_branch'],
      private: repo['private'],
      html_url: repo['html_url'],
    };
  } else if (payload['repository'] !== undefined) {
    parts['repository'] = payload['repository'];
  }
  if (run) {
    // The run's own copies of the repository are its largest parts and are not read.
    const { repository: _r, head_repository: _h, ...rest } = run;
    parts['workflow_run'] = rest;
  } else if (payload['workflow_run'] !== undefined) {
    parts['workflow_run'] = payload['workflow_run'];
  }
  return parts;
}
