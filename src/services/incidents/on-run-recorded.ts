// The incident lifecycle, decided inside the transaction that records a workflow run (the
// ingestion service calls this hook for every run it stores or updates):
//
//   - a completed run that failed (failure, timed_out, startup_failure; not cancelled or
//     skipped) opens an incident, adds an occurrence to the unresolved incident with the
//     same fingerprint, or reopens one resolved less than REOPEN_WINDOW_MS ago; each of
//     these writes an outbox row asking for an analysis, in the same transaction;
//   - a successful run resolves the open and acknowledged incidents of its workflow on its
//     branch (resolved_by green_run), unless it is older than their latest failure;
//   - a job that passes on a commit where it failed before marks that failure flaky.
//
// Idempotent: a run attempt is counted once (unique occurrence), so redeliveries and
// the several events of one run change nothing the second time. Decisions for one
// workflow on one branch are serialised with a transaction-scoped advisory lock.
import type { Db } from '../../db/client.ts';
import {
  FAILING_CONCLUSIONS,
  createIncidentsStore,
  type Incident,
  type IncidentsStore,
  type RepositoryConnection,
  type WorkflowJob,
  type WorkflowRun,
} from '../../db/stores/incidents-store.ts';
import type { RunRecordedHook } from '../ingest/types.ts';
import { notifyOutbox } from '../outbox/outbox-signal.ts';
import { writeOutbox } from '../outbox/write-outbox.ts';
import { incidentFingerprint, normaliseJobNames, workflowKey } from './fingerprint.ts';
import { markFlakyJobs } from './detect-flaky.ts';
import { analyseJobKey, reanalyseJobsKey } from './job-keys.ts';
import { severityFor } from './severity.ts';

export interface IncidentHookOptions {
  /** A failure this soon after an incident was resolved reopens it. Default 24 h. */
  reopenWindowMs?: number;
  now?: () => Date;
  /** Rung after an outbox row was written (default: this process's dispatchers). */
  notify?: () => void;
}

export const REOPEN_WINDOW_MS = 24 * 3600 * 1000;
const FAILING = new Set<string>(FAILING_CONCLUSIONS);
const FAILED_JOB = new Set(['failure', 'timed_out']);
const MAX_TITLE = 200;

type AnalyseReason = 'opened' | 'occurrence' | 'reopened' | 'jobs-changed';

export function createIncidentHook(options: IncidentHookOptions = {}): RunRecordedHook {
  const reopenWindowMs = options.reopenWindowMs ?? REOPEN_WINDOW_MS;
  const now = options.now ?? (() => new Date());
  const notify = options.notify ?? notifyOutbox;

  const hook: RunRecordedHook = async (tx, { run, jobs, connection }) => {
    const d = decisionOf(run, jobs);
    if (!d) return;
    const store = createIncidentsStore(tx);
    await store.lock(`incidents:${connection.id}:${workflowKey(run)}:${run.headBranch ?? ''}`);
    const ctx: Context = { tx, store, run, connection, now: now(), reopenWindowMs };

    if (d.passedJobs.length > 0) await markFlakyJobs(ctx, d.passedJobs);
    let wroteOutbox = false;
    if (d.failing) wroteOutbox = await recordFailure(ctx, d.attemptJobs);
    else if (d.green) await resolveByGreenRun(ctx);
    if (wroteOutbox) notify();
  };
  // Failures always need deciding; a green or partly passing run only when there is an
  // incident to resolve or a counted failure to call flaky, which one query tells for the
  // whole commit. (Without the lock: a failure committing meanwhile is one this run could
  // equally have been ordered before had it taken the lock first.)
  hook.select = async (tx, runs) => {
    const worth = await createIncidentsStore(tx).runsWorthDeciding(runs, tx);
    // A failure always; otherwise what the query found (it applies decisionOf's rules).
    return ({ run }) =>
      decidable(run) &&
      (FAILING.has(run.conclusion) || worth.has(`${run.connectionId}:${run.githubRunId}`));
  };
  return hook;
}

/** A run whose outcome is known: completed with a conclusion, not a placeholder. */
function decidable(run: WorkflowRun): run is WorkflowRun & { conclusion: string } {
  return !run.placeholder && run.status === 'completed' && !!run.conclusion;
}

/** What a recorded run could mean for incidents; null when nothing. */
function decisionOf(run: WorkflowRun, jobs: readonly WorkflowJob[]) {
  if (!decidable(run)) return null;
  const failing = FAILING.has(run.conclusion);
  const green = run.conclusion === 'success';
  const attemptJobs = jobs.filter((j) => j.runAttempt === run.runAttempt);
  const passedJobs = attemptJobs.filter((j) => j.conclusion === 'success');
  if (!failing && !green && passedJobs.length === 0) return null;
  return { failing, green, attemptJobs, passedJobs };
}

export interface Context {
  tx: Db;
  store: IncidentsStore;
  run: WorkflowRun;
  connection: RepositoryConnection;
  now: Date;
  reopenWindowMs: number;
}

/** When a run attempt started: failures and green runs are ordered by it. */
export function runStartedAt(run: WorkflowRun, fallback: Date): Date {
  return run.runStartedAt ?? run.githubCreatedAt ?? run.completedAt ?? fallback;
}

function runEventData(run: WorkflowRun): Record<string, unknown> {
  return {
    runId: run.id,
    githubRunId: run.githubRunId,
    runAttempt: run.runAttempt,
    runNumber: run.runNumber,
    headSha: run.headSha,
    conclusion: run.conclusion,
    htmlUrl: run.htmlUrl,
  };
}

function titleFor(run: WorkflowRun, failedJobs: readonly string[]): string {
  const workflow = run.workflowName ?? 'Workflow';
  const jobs =
    failedJobs.length === 0
      ? ''
      : ` / ${failedJobs.slice(0, 3).join(', ')}${failedJobs.length > 3 ? ` +${failedJobs.length - 3}` : ''}`;
  const title = `${workflow}${jobs} failed on ${run.headBranch ?? '(no branch)'}`;
  return title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title;
}

/** Exact names, or a trailing `*` for a prefix ("release/*"); empty means every branch. */
export function branchWatched(watched: readonly string[], branch: string | null): boolean {
  if (watched.length === 0) return true;
  if (branch === null) return false;
  return watched.some((w) => (w.endsWith('*') ? branch.startsWith(w.slice(0, -1)) : w === branch));
}

function sameJobs(a: readonly string[], b: readonly string[]): boolean {
  const x = normaliseJobNames(a);
  const y = normaliseJobNames(b);
  return x.length === y.length && x.every((name, i) => name === y[i]);
}

async function requestAnalysis(
  ctx: Context,
  incident: Pick<Incident, 'id' | 'occurrences'>,
  reason: AnalyseReason,
  jobKey = analyseJobKey(incident.id, incident.occurrences),
): Promise<boolean> {
  await writeOutbox(ctx.tx, {
    topic: 'analyse-incident',
    jobKey,
    payload: { incidentId: incident.id, reason },
  });
  return true;
}

async function recordFailure(ctx: Context, attemptJobs: WorkflowJob[]): Promise<boolean> {
  const { store, run, connection, tx } = ctx;
  if (!branchWatched(connection.watchedBranches, run.headBranch)) return false;
  const failedJobs = normaliseJobNames(
    attemptJobs.filter((j) => FAILED_JOB.has(j.conclusion ?? '')).map((j) => j.name),
  );
  const fingerprint = incidentFingerprint({
    repositoryId: connection.githubRepoId,
    workflow: workflowKey(run),
    branch: run.headBranch,
    failedJobs,
  });

  // The statements of each step below are sent together (pipelined on the transaction's
  // connection, run in order by Postgres): each step is one round trip, not one a statement.
  // Reads first, all three — the failure is either counted already, or joins an unresolved
  // incident, or reopens or follows a resolved one.
  const [counted, unresolved, resolved] = await Promise.all([
    store.findByRunAttempt(connection.id, run.id, run.runAttempt, tx),
    store.findUnresolved(connection.id, fingerprint, tx),
    store.findLastResolved(connection.id, fingerprint, tx),
  ]);
  if (counted) return refreshFailedJobs(ctx, counted, failedJobs, fingerprint);

  const startedAt = runStartedAt(run, ctx.now);
  const seenAt = run.completedAt ?? ctx.now;
  const onDefaultBranch = run.headBranch === connection.defaultBranch;
  const occurrence = { runId: run.id, runAttempt: run.runAttempt, occurredAt: startedAt };
  const later = (a: Date, b: Date) => (a > b ? a : b);

  if (unresolved) {
    const occurrences = unresolved.occurrences + 1;
    const ignored = unresolved.status === 'ignored';
    const [, , , wrote] = await Promise.all([
      store.addOccurrence({ incidentId: unresolved.id, ...occurrence }, tx),
      store.update(
        unresolved.id,
        {
          occurrences,
          lastRunId: run.id,
          lastSeenAt: later(unresolved.lastSeenAt, seenAt),
          severity: severityFor({ onDefaultBranch, occurrences, flaky: unresolved.flaky }),
          ...(ignored ? {} : { analysisStatus: 'pending' }),
        },
        tx,
      ),
      store.addEvent(
        { incidentId: unresolved.id, kind: 'occurrence', data: runEventData(run) },
        tx,
      ),
      // Ignored incidents keep counting, silently: nobody wants an analysis of them.
      ignored ? false : requestAnalysis(ctx, { id: unresolved.id, occurrences }, 'occurrence'),
    ]);
    return wrote;
  }

  if (resolved?.resolvedAt) {
    const latest = await store.latestOccurrence(resolved.id, tx);
    if (latest && startedAt < latest.occurredAt) {
      // Older than the failure the incident already knew, delivered late: an old run, not
      // a regression. It is counted without reopening.
      await Promise.all([
        store.addOccurrence({ incidentId: resolved.id, ...occurrence }, tx),
        store.update(resolved.id, { occurrences: resolved.occurrences + 1 }, tx),
        store.addEvent(
          {
            incidentId: resolved.id,
            kind: 'occurrence',
            note: 'An older run failed (delivered late); the incident stays resolved.',
            data: { ...runEventData(run), late: true },
          },
          tx,
        ),
      ]);
      return false;
    }
    if (seenAt.getTime() - resolved.resolvedAt.getTime() <= ctx.reopenWindowMs) {
      const occurrences = resolved.occurrences + 1;
      const gap = describeGap(seenAt.getTime() - resolved.resolvedAt.getTime());
      const [, , , wrote] = await Promise.all([
        store.addOccurrence({ incidentId: resolved.id, ...occurrence }, tx),
        store.update(
          resolved.id,
          {
            status: 'open',
            resolvedAt: null,
            resolvedBy: null,
            acknowledgedAt: null,
            occurrences,
            lastRunId: run.id,
            lastSeenAt: later(resolved.lastSeenAt, seenAt),
            severity: severityFor({ onDefaultBranch, occurrences, flaky: resolved.flaky }),
            analysisStatus: 'pending',
          },
          tx,
        ),
        store.addEvent(
          {
            incidentId: resolved.id,
            kind: 'reopened',
            note: `Failed again ${gap} after it was resolved.`,
            data: runEventData(run),
          },
          tx,
        ),
        requestAnalysis(ctx, { id: resolved.id, occurrences }, 'reopened'),
      ]);
      return wrote;
    }
  }

  const incident = await store.insert(
    {
      userId: connection.userId,
      connectionId: connection.id,
      fingerprint,
      workflowId: run.workflowId,
      workflowName: run.workflowName,
      branch: run.headBranch,
      failedJobs,
      title: titleFor(run, failedJobs),
      status: 'open',
      severity: severityFor({ onDefaultBranch, occurrences: 1, flaky: false }),
      occurrences: 1,
      firstRunId: run.id,
      lastRunId: run.id,
      openedAt: seenAt,
      lastSeenAt: seenAt,
      analysisStatus: 'pending',
    },
    tx,
  );
  const [, , wrote] = await Promise.all([
    store.addOccurrence({ incidentId: incident.id, ...occurrence }, tx),
    store.addEvent({ incidentId: incident.id, kind: 'opened', data: runEventData(run) }, tx),
    requestAnalysis(ctx, incident, 'opened'),
  ]);
  return wrote;
}

/**
 * The run was already counted, but its failed jobs may have become known since (job
 * events arriving after the run's): an incident that has seen only this run takes the
 * fuller job list (and fingerprint) and is analysed again. One with history keeps its own.
 */
async function refreshFailedJobs(
  ctx: Context,
  incident: Incident,
  failedJobs: string[],
  fingerprint: string,
): Promise<boolean> {
  const { store, run, tx } = ctx;
  if (failedJobs.length === 0 || sameJobs(incident.failedJobs, failedJobs)) return false;
  if (incident.occurrences !== 1 || incident.firstRunId !== run.id) return false;
  if (incident.status === 'resolved' || incident.fingerprint === fingerprint) return false;
  if (await store.findUnresolved(ctx.connection.id, fingerprint, tx)) return false;
  const updated = await store.update(
    incident.id,
    {
      fingerprint,
      failedJobs,
      title: titleFor(run, failedJobs),
      ...(incident.status === 'ignored' ? {} : { analysisStatus: 'pending' }),
    },
    tx,
  );
  await store.addEvent(
    {
      incidentId: incident.id,
      kind: 'jobs_updated',
      note: `Failed jobs: ${failedJobs.join(', ')}`,
      data: { from: incident.failedJobs, to: failedJobs },
    },
    tx,
  );
  if (incident.status === 'ignored') return false;
  return requestAnalysis(ctx, updated, 'jobs-changed', reanalyseJobsKey(incident.id, fingerprint));
}

async function resolveByGreenRun(ctx: Context): Promise<void> {
  const { store, run, connection, tx } = ctx;
  const active = await store.findActiveForWorkflow(
    connection.id,
    { id: run.workflowId, name: run.workflowName },
    run.headBranch,
    tx,
  );
  const greenStarted = runStartedAt(run, ctx.now);
  // One round trip for the latest failures of all of them, one for all the changes.
  const latests = await Promise.all(active.map((i) => store.latestOccurrence(i.id, tx)));
  const writes: Array<Promise<unknown>> = [];
  active.forEach((incident, i) => {
    const latest = latests[i];
    const newer =
      latest === undefined ||
      (latest.runId === run.id
        ? run.runAttempt > latest.runAttempt
        : latest.occurredAt.getTime() <= greenStarted.getTime());
    if (!newer) return;
    writes.push(
      store.update(
        incident.id,
        { status: 'resolved', resolvedBy: 'green_run', resolvedAt: run.completedAt ?? ctx.now },
        tx,
      ),
      store.addEvent(
        {
          incidentId: incident.id,
          kind: 'resolved',
          note:
            latest?.runId === run.id
              ? `Re-run attempt ${run.runAttempt} passed.`
              : `Run #${run.runNumber ?? run.githubRunId} passed.`,
          data: { ...runEventData(run), resolvedBy: 'green_run' },
        },
        tx,
      ),
    );
  });
  await Promise.all(writes);
}

function describeGap(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return `${hours} h`;
}
