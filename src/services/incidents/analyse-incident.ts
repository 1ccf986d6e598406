// The analysis of an incident (run by the analyse-incident job): read the latest failing
// run's failed jobs, download their logs from GitHub, analyse each log (services/analysis),
// merge, and store the result on the incident with an 'analysed' timeline event.
//
// Idempotent: a retried or re-delivered job overwrites the same fields and updates the
// event it wrote before (events are keyed by the queue job id), so nothing is duplicated.
// Ignored incidents are not analysed unless someone asks (reason 'manual'). Flaky ones are:
// the analysis says what flaked; being flaky only rules out a fix.
//
// With the repository's auto_rerun_infrastructure setting, an infrastructure failure has
// its failed jobs re-run once. "Once per run" is guaranteed by reserving the re-run (an
// event, committed with the analysis) before calling GitHub: a crash in between means no
// re-run rather than two.
import type { Octokit } from '@octokit/rest';
import type { Db } from '../../db/client.ts';
import {
  createIncidentsStore,
  type Incident,
  type RepositoryConnection,
  type WorkflowRun,
} from '../../db/stores/incidents-store.ts';
import { LogUnavailableError, downloadJobLog } from '../../github/logs.ts';
import { analyseLog } from '../analysis/analyse-log.ts';
import {
  analysisWithoutLogs,
  mergeAnalyses,
  type IncidentAnalysis,
  type JobAnalysis,
} from './merge-analyses.ts';

type GitHubClient = Pick<Octokit, 'request'>;

export interface AnalyseIncidentDeps {
  db: Db;
  github: { forUser(userId: string): Promise<GitHubClient> };
  log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** At most this many failed jobs' logs are read (matrix builds can fail dozens at once). */
  maxJobs?: number;
  now?: () => Date;
}

export interface AnalyseIncidentInput {
  incidentId: string;
  reason: string;
  /** The queue job id: the 'analysed' event is keyed by it. */
  jobKey: string;
  /** No retry follows this attempt: finish with what is available. */
  finalAttempt: boolean;
  /**
   * Aborted when the worker shuts down: GitHub requests and log downloads in flight stop,
   * and the analysis ends with the signal's AbortError before anything is stored.
   */
  signal?: AbortSignal | undefined;
}

export type AnalyseOutcome =
  | { outcome: 'missing' }
  | { outcome: 'skipped'; why: string }
  | { outcome: 'analysed'; analysis: IncidentAnalysis; rerun: 'requested' | 'failed' | 'none' };

interface FailedJob {
  name: string;
  githubJobId: number;
  failedSteps: string[];
}

const FAILED = new Set(['failure', 'timed_out']);
const DEFAULT_MAX_JOBS = 5;
/** Right after a run completes GitHub may not serve its logs yet: worth a retry for this long. */
const LOGS_SETTLE_MS = 10 * 60_000;

export class LogsNotReadyError extends Error {
  override name = 'LogsNotReadyError';
}

export async function analyseIncident(
  deps: AnalyseIncidentDeps,
  input: AnalyseIncidentInput,
): Promise<AnalyseOutcome> {
  const store = createIncidentsStore(deps.db);
  const now = deps.now ?? (() => new Date());
  const incident = await store.getById(input.incidentId);
  if (!incident) return { outcome: 'missing' };
  if (incident.status === 'ignored' && input.reason !== 'manual') {
    return { outcome: 'skipped', why: 'the incident is ignored' };
  }
  const connection = await store.connectionById(incident.connectionId);
  const occurrence = await store.latestOccurrence(incident.id);
  const run = occurrence ? await store.runById(occurrence.runId) : undefined;
  if (!connection || !occurrence || !run) return { outcome: 'skipped', why: 'no run to analyse' };

  await store.update(incident.id, { analysisStatus: 'running' });
  const [owner = '', repo = ''] = connection.fullName.split('/');
  let client: GitHubClient | undefined;
  const github = async () => (client ??= await deps.github.forUser(incident.userId));

  let failed: FailedJob[] = (await store.jobsOfRunAttempt(run.id, occurrence.runAttempt))
    .filter((j) => FAILED.has(j.conclusion ?? ''))
    .map((j) => ({ name: j.name, githubJobId: j.githubJobId, failedSteps: j.failedSteps }));
  if (failed.length === 0 && run.conclusion !== 'startup_failure') {
    // The run's job events have not arrived (or never will): ask GitHub for them.
    failed = await failedJobsFromGitHub(
      await github(),
      owner,
      repo,
      run,
      occurrence.runAttempt,
      input.signal,
    );
  }

  const selected = failed.slice(0, deps.maxJobs ?? DEFAULT_MAX_JOBS);
  const results: JobAnalysis[] = [];
  for (const job of selected) {
    input.signal?.throwIfAborted();
    try {
      const log = await downloadJobLog(
        await github(),
        { owner, repo, jobId: job.githubJobId, jobName: job.name, runId: run.githubRunId },
        { signal: input.signal },
      );
      results.push({
        jobName: job.name,
        githubJobId: job.githubJobId,
        truncated: log.truncated,
        analysis: analyseLog(log.text, { failedSteps: job.failedSteps, jobName: job.name }),
      });
    } catch (err) {
      if (!(err instanceof LogUnavailableError)) throw err;
      results.push({
        jobName: job.name,
        githubJobId: job.githubJobId,
        analysis: null,
        unavailable: err.message,
      });
    }
  }

  const anyLog = results.some((r) => r.analysis !== null);
  const completedAt = run.completedAt ?? run.githubUpdatedAt;
  const fresh = completedAt !== null && now().getTime() - completedAt.getTime() < LOGS_SETTLE_MS;
  if (selected.length > 0 && !anyLog && fresh && !input.finalAttempt) {
    throw new LogsNotReadyError('GitHub does not serve the logs of the failed jobs yet');
  }
  // Past this point the analysis is stored and the re-run asked for: not interrupted.
  input.signal?.throwIfAborted();
  const analysis =
    mergeAnalyses(results) ??
    analysisWithoutLogs({
      conclusion: run.conclusion,
      failedJobs: failed.map((j) => j.name),
      unavailable: results.flatMap((r) => (r.unavailable ? [r.unavailable] : [])),
    });

  const reservation = await storeAnalysis(deps.db, {
    incident,
    connection,
    run,
    runAttempt: occurrence.runAttempt,
    analysis,
    jobs: results,
    input,
    now: now(),
  });
  let rerun: 'requested' | 'failed' | 'none' = 'none';
  if (reservation) rerun = await requestRerun(deps, await github(), reservation, owner, repo, run);
  deps.log?.info(
    { incidentId: incident.id, failureType: analysis.failureType, jobs: results.length, rerun },
    'incident analysed',
  );
  return { outcome: 'analysed', analysis, rerun };
}

async function failedJobsFromGitHub(
  octokit: GitHubClient,
  owner: string,
  repo: string,
  run: WorkflowRun,
  attempt: number,
  signal: AbortSignal | undefined,
): Promise<FailedJob[]> {
  const response = await octokit.request(
    'GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs',
    {
      owner,
      repo,
      run_id: run.githubRunId,
      attempt_number: attempt,
      per_page: 100,
      request: { signal },
    },
  );
  return response.data.jobs
    .filter((j) => FAILED.has(j.conclusion ?? ''))
    .map((j) => ({
      name: j.name,
      githubJobId: Number(j.id),
      failedSteps: (j.steps ?? []).filter((s) => s.conclusion === 'failure').map((s) => s.name),
    }));
}

interface StoreInput {
  incident: Incident;
  connection: RepositoryConnection;
  run: WorkflowRun;
  runAttempt: number;
  analysis: IncidentAnalysis;
  jobs: JobAnalysis[];
  input: AnalyseIncidentInput;
  now: Date;
}

interface RerunReservation {
  eventId: string;
  incidentId: string;
}

/** Stores the analysis and, when due, reserves the automatic re-run; one transaction. */
async function storeAnalysis(db: Db, s: StoreInput): Promise<RerunReservation | undefined> {
  return db.transaction(async (tx) => {
    const store = createIncidentsStore(tx);
    const current = await store.lockById(s.incident.id, tx);
    if (!current) return undefined;
    await store.update(
      current.id,
      {
        failureType: s.analysis.failureType,
        summary: s.analysis.summary,
        firstError: s.analysis.firstError,
        references: s.analysis.references,
        logExcerpt: s.analysis.logExcerpt,
        analysisStatus: 'done',
        analysisError: null,
        analysedAt: s.now,
      },
      tx,
    );
    const data = {
      jobKey: s.input.jobKey,
      reason: s.input.reason,
      failureType: s.analysis.failureType,
      githubRunId: s.run.githubRunId,
      runAttempt: s.runAttempt,
      leadJob: s.analysis.leadJob,
      leadGithubJobId: s.analysis.leadGithubJobId,
      jobs: s.jobs.map((j) => ({
        name: j.jobName,
        githubJobId: j.githubJobId,
        failureType: j.analysis?.failureType ?? null,
        tool: j.analysis?.tool ?? null,
        unavailable: j.unavailable ?? null,
      })),
    };
    const note = s.analysis.firstError
      ? `${s.analysis.failureType}: ${s.analysis.firstError.slice(0, 300)}`
      : s.analysis.failureType;
    const previous = await store.findEvent(current.id, 'analysed', { jobKey: s.input.jobKey }, tx);
    if (previous) await store.updateEvent(previous.id, { note, data }, tx);
    else await store.addEvent({ incidentId: current.id, kind: 'analysed', note, data }, tx);

    const due =
      s.connection.autoRerunInfrastructure &&
      s.analysis.failureType === 'infrastructure' &&
      (current.status === 'open' || current.status === 'acknowledged') &&
      s.run.status === 'completed' &&
      s.run.runAttempt === s.runAttempt;
    if (!due) return undefined;
    // Serialise with any other incident's analysis of the same run, then check once more.
    await store.lock(`rerun:${s.connection.id}:${s.run.githubRunId}`, tx);
    const match = { githubRunId: s.run.githubRunId };
    if (await store.findEventInConnection(s.connection.id, 'rerun', match, tx)) return undefined;
    const event = await store.addEvent(
      {
        incidentId: current.id,
        kind: 'rerun',
        note: 'The failure looks like infrastructure: re-running the failed jobs once.',
        data: { ...match, runAttempt: s.runAttempt, status: 'pending' },
      },
      tx,
    );
    return { eventId: event.id, incidentId: current.id };
  });
}

async function requestRerun(
  deps: AnalyseIncidentDeps,
  octokit: GitHubClient,
  reservation: RerunReservation,
  owner: string,
  repo: string,
  run: WorkflowRun,
): Promise<'requested' | 'failed'> {
  const store = createIncidentsStore(deps.db);
  const base = { githubRunId: run.githubRunId, runAttempt: run.runAttempt };
  try {
    await octokit.request('POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs', {
      owner,
      repo,
      run_id: run.githubRunId,
    });
    await store.updateEvent(reservation.eventId, { data: { ...base, status: 'requested' } });
    return 'requested';
  } catch (err) {
    // Never retried: a second call could re-run the jobs twice.
    const message = String((err as Error).message ?? err)
      .split('\n')[0]!
      .slice(0, 300);
    await store.updateEvent(reservation.eventId, {
      note: `Re-running the failed jobs failed: ${message}`,
      data: { ...base, status: 'failed', error: message },
    });
    deps.log?.warn({ incidentId: reservation.incidentId, err: message }, 'automatic re-run failed');
    return 'failed';
  }
}

/** An attempt put off (rate limit, shutdown): not a failure, and no longer running. */
export async function recordAnalysisPutOff(db: Db, incidentId: string): Promise<void> {
  await createIncidentsStore(db).markAnalysisWaiting(incidentId);
}

/** Records why an analysis attempt failed; the last attempt marks the analysis failed. */
export async function recordAnalysisFailure(
  db: Db,
  input: { incidentId: string; jobKey: string; reason: string; message: string; final: boolean },
): Promise<void> {
  const store = createIncidentsStore(db);
  await db.transaction(async (tx) => {
    const incident = await store.lockById(input.incidentId, tx);
    if (!incident) return;
    const message = input.message.slice(0, 500);
    await store.update(
      incident.id,
      { analysisStatus: input.final ? 'failed' : 'pending', analysisError: message },
      tx,
    );
    if (!input.final) return;
    const data = { jobKey: input.jobKey, reason: input.reason, error: message };
    const previous = await store.findEvent(
      incident.id,
      'analysis_failed',
      { jobKey: input.jobKey },
      tx,
    );
    if (previous) await store.updateEvent(previous.id, { note: message, data }, tx);
    else
      await store.addEvent(
        { incidentId: incident.id, kind: 'analysis_failed', note: message, data },
        tx,
      );
  });
}
