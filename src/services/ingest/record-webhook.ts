// One transaction for a group of verified deliveries (one, or many under load — see
// group-commit.ts), in a fixed number of round trips whatever the group's size:
//
//   0. (only when the group holds app-level deliveries) the enabled connections of their
//      repositories, to fan each delivery out to them
//   1. statements sent together (pipelined), each with constant text, right behind BEGIN
//      (pipelined-transaction.ts): the connections read fresh; every delivery recorded (the
//      unique (hook_key, delivery_id) index turns a redelivery into a no-op); runs and jobs
//      upserted in one statement, never moving backwards, only for enabled connections;
//      then each hook's select (which runs it must see), reading the runs as just written
//   2. the hooks (incident logic), in the same transaction, once per run the group's new
//      deliveries touched and the hook's select wanted — usually none
//   3. rare connection bookkeeping (ping → verified, repository renamed/deleted, the
//      once-a-minute last_delivery_at)
//
// Runs and jobs are written for every delivery of the group, redeliveries included: their
// snapshots were applied before, so the guarded upserts change nothing — which is what lets
// step 1 go out before knowing which deliveries are new. Nothing here answers HTTP: the
// caller acknowledges each delivery after COMMIT.
import type { Db } from '../../db/client.ts';
import { pipelinedTransaction } from '../../db/pipelined-transaction.ts';
import {
  createRepositoryConnectionsStore,
  type RepositoryConnection,
  type RepositoryFacts,
} from '../../db/stores/repository-connections-store.ts';
import {
  createWebhookDeliveriesStore,
  type DeliveryInput,
} from '../../db/stores/webhook-deliveries-store.ts';
import { createWorkflowJobsStore, type RunWritten } from '../../db/stores/workflow-jobs-store.ts';
import type { WorkflowRunInput } from '../../db/stores/workflow-runs-store.ts';
import {
  asHttpUrl,
  asId,
  asObject,
  asString,
  jobFromGitHub,
  runFromGitHub,
  type JobRow,
  type JobWithRun,
} from './payload-rows.ts';
import { jobIsAhead, runIsAhead } from './progress.ts';
import type {
  VerifiedDelivery,
  DeliveryResult,
  RunRecordedEvent,
  RunRecordedHook,
} from './types.ts';

/** The hook key of app-level deliveries no connection wanted. */
export const APP_HOOK_KEY = 'app';
/** last_delivery_at is bookkeeping for lists: written at most this often per connection. */
const LAST_DELIVERY_RESOLUTION_MS = 60_000;
/** Events an app-level hook may send that concern the app itself, not a repository. */
const APP_EVENTS = new Set([
  'ping',
  'installation',
  'installation_repositories',
  'installation_target',
  'github_app_authorization',
]);

/** What ingestion knows of a connection before the transaction: facts that never change. */
interface ConnectionFacts {
  id: string;
  userId: string;
  githubRepoId: number;
}

type Effect =
  | { kind: 'none' }
  | { kind: 'ping'; hookId: number | null }
  | { kind: 'run'; row: WorkflowRunInput }
  | { kind: 'job'; value: JobWithRun };

interface Target {
  item: number;
  hookKey: string;
  connection: ConnectionFacts | null;
  outcome: 'processed' | 'ignored' | 'error';
  reason: string | null;
  effect: Effect;
  facts: RepositoryFacts | null;
  /** Recorded by this transaction (not a redelivery), with the outcome as recorded. */
  written: boolean;
}

const runKey = (r: { connectionId: string; githubRunId: number }) =>
  `${r.connectionId}:${r.githubRunId}`;
const jobKey = (j: { connectionId: string; githubJobId: number }) =>
  `${j.connectionId}:${j.githubJobId}`;

/** What a `repository` event says about the repository. */
function repositoryFacts(payload: Record<string, unknown>): RepositoryFacts | null {
  const repo = asObject(payload['repository']);
  if (!repo) return null;
  if (payload['action'] === 'deleted') return { enabled: false };
  const facts: RepositoryFacts = {
    fullName: asString(repo['full_name']) ?? undefined,
    defaultBranch: asString(repo['default_branch']) ?? undefined,
    private: typeof repo['private'] === 'boolean' ? repo['private'] : undefined,
    htmlUrl: asHttpUrl(repo['html_url']) ?? undefined,
  };
  return Object.values(facts).some((v) => v !== undefined) ? facts : null;
}

function classify(
  delivery: VerifiedDelivery,
  item: number,
  connection: ConnectionFacts,
  hookKey: string,
): Target {
  const target: Target = {
    item,
    hookKey,
    connection,
    outcome: 'processed',
    reason: null,
    effect: { kind: 'none' },
    facts: null,
    written: false,
  };
  const ignore = (reason: string) => Object.assign(target, { outcome: 'ignored', reason });
  const fail = (reason: string) => Object.assign(target, { outcome: 'error', reason });
  const { payload, event } = delivery;
  const repoId = asId(asObject(payload['repository'])?.['id']);
  if (repoId !== null && repoId !== connection.githubRepoId) {
    return ignore('repository does not belong to this connection');
  }
  const ctx = {
    userId: connection.userId,
    connectionId: connection.id,
    receivedAt: delivery.receivedAt,
  };
  switch (event) {
    case 'ping':
      target.effect =
        delivery.route.kind === 'connection'
          ? { kind: 'ping', hookId: asId(payload['hook_id']) }
          : { kind: 'none' };
      break;
    case 'workflow_run': {
      const run = runFromGitHub(payload['workflow_run'], ctx);
      if (!run.ok) return fail(run.error);
      target.effect = { kind: 'run', row: run.value };
      break;
    }
    case 'workflow_job': {
      const job = jobFromGitHub(payload['workflow_job'], ctx);
      if (!job.ok) return fail(job.error);
      target.effect = { kind: 'job', value: job.value };
      break;
    }
    // Only `repository` events change what we store about the repository: writing the
    // connection row from every event would make concurrent deliveries queue on its lock.
    case 'repository':
      target.facts = repositoryFacts(payload);
      break;
    // Kept with its payload: fix tracking follows pull requests from the stored deliveries.
    case 'pull_request':
    case 'installation':
    case 'installation_repositories':
      break;
    default:
      return ignore(`event "${event}" is not used by Flowfix`);
  }
  return target;
}

function unrouted(delivery: VerifiedDelivery, item: number): Target {
  const forApp = APP_EVENTS.has(delivery.event);
  return {
    item,
    hookKey: APP_HOOK_KEY,
    connection: null,
    outcome: forApp ? 'processed' : 'ignored',
    reason: forApp ? null : 'repository is not connected',
    effect: { kind: 'none' },
    facts: null,
    written: false,
  };
}

/** One snapshot per key: the furthest along (a single upsert may touch a row only once). */
function furthest<T>(rows: T[], key: (row: T) => string, ahead: (a: T, b: T) => boolean) {
  const best = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    const current = best.get(k);
    if (current === undefined || ahead(row, current)) best.set(k, row);
  }
  return best;
}

export interface RecordOptions {
  hooks: readonly RunRecordedHook[];
  now?: () => number;
}

/** Records a group of deliveries in one transaction; one result per delivery, in order. */
export async function recordWebhookDeliveries(
  db: Db,
  deliveries: VerifiedDelivery[],
  opts: RecordOptions,
): Promise<DeliveryResult[]> {
  return pipelinedTransaction(db, (tx) => recordInTransaction(tx, deliveries, opts));
}

async function recordInTransaction(
  tx: Db,
  deliveries: VerifiedDelivery[],
  opts: RecordOptions,
): Promise<DeliveryResult[]> {
  const now = opts.now ?? (() => performance.now());
  const connections = createRepositoryConnectionsStore(tx);
  const results: DeliveryResult[] = deliveries.map(() => ({ outcome: 'ignored' }));

  // 0. App-level deliveries fan out to the enabled connections of their repository.
  const repoIds = new Set<number>();
  for (const d of deliveries) {
    if (d.route.kind !== 'app') continue;
    const repoId = asId(asObject(d.payload['repository'])?.['id']);
    if (repoId !== null) repoIds.add(repoId);
  }
  const watching = new Map<number, RepositoryConnection[]>();
  if (repoIds.size > 0) {
    for (const c of await connections.findForBatch([], [...repoIds])) {
      watching.set(c.githubRepoId, [...(watching.get(c.githubRepoId) ?? []), c]);
    }
  }

  // Classify, and keep the first of a delivery repeated within the group.
  const targets: Target[] = [];
  deliveries.forEach((d, item) => {
    if (d.route.kind === 'connection') {
      const { connectionId: id, userId, githubRepoId } = d.route;
      targets.push(classify(d, item, { id, userId, githubRepoId }, id));
      return;
    }
    const repoId = asId(asObject(d.payload['repository'])?.['id']);
    const matches = repoId === null ? [] : (watching.get(repoId) ?? []);
    if (matches.length === 0) targets.push(unrouted(d, item));
    for (const c of matches) targets.push(classify(d, item, c, `${APP_HOOK_KEY}:${c.id}`));
  });
  const byKey = new Map<string, Target>();
  for (const t of targets) {
    const key = `${t.hookKey}\n${deliveries[t.item]!.deliveryId}`;
    if (!byKey.has(key)) byKey.set(key, t);
  }
  const toRecord = [...byKey.values()];
  const inputs: DeliveryInput[] = toRecord.map((t) => {
    const d = deliveries[t.item]!;
    // Unconnected repositories' payloads (an org hook sends everything) are not kept.
    const keep = t.connection !== null || t.outcome === 'processed';
    return {
      hookKey: t.hookKey,
      connectionId: t.connection?.id ?? null,
      deliveryId: d.deliveryId,
      event: d.event,
      action: asString(d.payload['action']),
      outcome: t.outcome,
      durationMs: Math.max(0, Math.round(now() - d.startedAt)),
      error: t.reason,
      payloadText: keep ? d.payloadJson : null,
      receivedAt: d.receivedAt,
    };
  });

  // Runs: real snapshots first; placeholders only for runs no snapshot in the group names.
  const processed = toRecord.filter((t) => t.outcome === 'processed');
  const realRuns = furthest(
    processed.flatMap((t) => (t.effect.kind === 'run' ? [t.effect.row] : [])),
    runKey,
    runIsAhead,
  );
  const jobTargets = processed.flatMap((t) => (t.effect.kind === 'job' ? [t.effect.value] : []));
  const placeholders = furthest(
    jobTargets.map((j) => j.placeholderRun).filter((r) => !realRuns.has(runKey(r))),
    runKey,
    runIsAhead,
  );
  const jobRows: JobRow[] = [
    ...furthest(
      jobTargets.map((j) => j.job),
      jobKey,
      jobIsAhead,
    ).values(),
  ];
  const runRows = [...realRuns.values(), ...placeholders.values()];
  const sortRuns = (a: WorkflowRunInput, b: WorkflowRunInput) =>
    a.connectionId.localeCompare(b.connectionId) || a.githubRunId - b.githubRunId;

  // 1. Connections, deliveries, runs and jobs: three statements in one round trip.
  const connectionIds = [
    ...new Set(toRecord.flatMap((t) => (t.connection ? [t.connection.id] : []))),
  ];
  // The hooks' selects go last: sent after the upsert on the same connection, they read the
  // runs as it wrote them.
  const [fresh, written, runsWritten, ...selected] = await Promise.all([
    connections.findForBatch(connectionIds, []),
    createWebhookDeliveriesStore(tx).insertMany(inputs),
    createWorkflowJobsStore(tx).writeRunsAndJobs(runRows.sort(sortRuns), jobRows),
    ...opts.hooks.map((hook) =>
      hook.select && runRows.length > 0 ? hook.select(tx, runRows) : null,
    ),
  ]);
  const freshById = new Map(fresh.map((c) => [c.id, c]));
  const writtenOutcome = new Map(written.map((k) => [`${k.hookKey}\n${k.deliveryId}`, k.outcome]));
  for (const t of toRecord) {
    const outcome = writtenOutcome.get(`${t.hookKey}\n${deliveries[t.item]!.deliveryId}`);
    if (outcome === undefined) continue;
    t.written = true;
    if (outcome === 'ignored' && t.outcome !== 'ignored') {
      Object.assign(t, { outcome: 'ignored', reason: 'connection is disabled' });
    }
  }
  const live = toRecord.filter((t) => t.written && t.outcome === 'processed');

  // 2. Hooks, once per run the group's new deliveries touched.
  if (opts.hooks.length > 0) {
    await runHooks(tx, opts.hooks, selected, live, runsWritten, freshById);
  }

  // 3. Connection bookkeeping.
  for (const t of live) {
    if (!t.connection) continue;
    if (t.effect.kind === 'ping') await connections.markVerified(t.connection.id, t.effect.hookId);
    if (t.facts) await connections.applyRepositoryFacts(t.connection.id, t.facts);
  }
  const stale = Date.now() - LAST_DELIVERY_RESOLUTION_MS;
  const touched = new Set(
    toRecord.flatMap((t) => (t.written && t.connection ? [t.connection.id] : [])),
  );
  await connections.touchLastDelivery(
    [...touched].filter((id) => {
      const c = freshById.get(id);
      return c !== undefined && (c.lastDeliveryAt === null || c.lastDeliveryAt.getTime() < stale);
    }),
  );

  // Results, per delivery.
  const byItem = new Map<number, Target[]>();
  for (const t of targets) byItem.set(t.item, [...(byItem.get(t.item) ?? []), t]);
  for (const [item, list] of byItem) {
    const d = deliveries[item]!;
    if (d.route.kind === 'connection' && !freshById.has(d.route.connectionId)) {
      results[item] = { outcome: 'unknown_connection' };
      continue;
    }
    const recorded = list.filter((t) => t.written);
    const error = recorded.find((t) => t.outcome === 'error');
    const done = recorded.find((t) => t.outcome === 'processed');
    if (error) results[item] = { outcome: 'invalid', reason: error.reason ?? undefined };
    else if (done) results[item] = { outcome: 'processed' };
    else if (recorded.length === 0) results[item] = { outcome: 'duplicate' };
    else results[item] = { outcome: 'ignored', reason: recorded[0]!.reason ?? undefined };
  }
  return results;
}

async function runHooks(
  tx: Db,
  hooks: readonly RunRecordedHook[],
  selected: ReadonlyArray<((event: Omit<RunRecordedEvent, 'jobs'>) => boolean) | null>,
  live: Target[],
  runsWritten: RunWritten[],
  connections: Map<string, RepositoryConnection>,
): Promise<void> {
  const byKey = new Map(runsWritten.map((w) => [runKey(w.run), w]));
  const calls = new Map<
    string,
    { written: RunWritten; events: Set<'workflow_run' | 'workflow_job'> }
  >();
  for (const t of live) {
    if (t.effect.kind !== 'run' && t.effect.kind !== 'job') continue;
    const key = t.effect.kind === 'run' ? runKey(t.effect.row) : runKey(t.effect.value.job);
    const written = byKey.get(key);
    if (!written) continue;
    const call = calls.get(key) ?? { written, events: new Set() };
    call.events.add(t.effect.kind === 'run' ? 'workflow_run' : 'workflow_job');
    calls.set(key, call);
  }
  const recorded: Array<Omit<RunRecordedEvent, 'jobs'>> = [];
  for (const { written, events } of calls.values()) {
    const connection = connections.get(written.run.connectionId);
    if (!connection) continue;
    recorded.push({ run: written.run, connection, changed: written.changed, events: [...events] });
  }
  // Which events each hook wants; then the jobs of those runs only, in one query.
  const wanted = hooks.map((_, h) => recorded.filter((e) => selected[h]?.(e) ?? true));
  const runs = new Map(wanted.flat().map((e) => [e.run.id, e.run]));
  if (runs.size === 0) return;
  const jobs = await createWorkflowJobsStore(tx).currentAttemptJobs([...runs.values()]);
  for (const [h, hook] of hooks.entries()) {
    for (const event of wanted[h]!) await hook(tx, { ...event, jobs: jobs.get(event.run.id)! });
  }
}
