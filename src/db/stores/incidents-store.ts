// Incidents, their occurrences and timeline; the queries the incident lifecycle needs
// inside the ingestion transaction (advisory lock, fingerprint look-ups, flaky evidence);
// the owner-scoped, keyset-paginated lists behind the API and the pages; and the
// dashboard's aggregates over runs and incidents.
import { and, asc, count, desc, eq, gt, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { atOnce } from '../pipelined-transaction.ts';
import { executeConstant } from './workflow-runs-store.ts';
import {
  incidentEvents,
  incidentOccurrences,
  incidents,
  outbox,
  repositoryConnections,
  workflowJobs,
  workflowRuns,
} from '../schema/index.ts';

export type Incident = typeof incidents.$inferSelect;
export type NewIncident = typeof incidents.$inferInsert;
export type IncidentPatch = Partial<Omit<NewIncident, 'id' | 'userId' | 'connectionId'>>;
export type IncidentEvent = typeof incidentEvents.$inferSelect;
export type IncidentOccurrence = typeof incidentOccurrences.$inferSelect;
export type WorkflowRun = typeof workflowRuns.$inferSelect;
export type WorkflowJob = typeof workflowJobs.$inferSelect;
export type RepositoryConnection = typeof repositoryConnections.$inferSelect;

export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved', 'ignored'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
/** Run and job conclusions that count as a failure (cancelled and skipped do not). */
export const FAILING_CONCLUSIONS = ['failure', 'timed_out', 'startup_failure'] as const;
/** Job conclusions that count as a failed job. */
const FAILED_JOB_CONCLUSIONS = ['failure', 'timed_out'];

/** A keyset position: the sort timestamp as exact text (microseconds) and the row id. */
export interface Cursor {
  at: string;
  id: string;
}

export interface IncidentFilters {
  status?: IncidentStatus | undefined;
  severity?: string | undefined;
  /** owner/name, case-insensitive. */
  repository?: string | undefined;
  failureType?: string | undefined;
  branch?: string | undefined;
}

export interface ListedIncident extends Incident {
  repository: string;
  cursorAt: string;
}

export interface OccurrenceWithRun {
  id: string;
  runId: string;
  runAttempt: number;
  occurredAt: Date;
  cursorAt: string;
  githubRunId: number | null;
  runNumber: number | null;
  conclusion: string | null;
  event: string | null;
  headSha: string | null;
  headBranch: string | null;
  commitMessage: string | null;
  actorLogin: string | null;
  htmlUrl: string | null;
  displayTitle: string | null;
}

export interface FlakeCounts {
  /** Commits on which the job completed inside the window. */
  commits: number;
  /** Of those, commits on which it failed and later passed. */
  flaky: number;
}

// Postgres keeps microseconds, a JS Date milliseconds: cursors carry the exact text so a
// page boundary never skips rows that differ only below the millisecond.
const exactTime = (column: SQL | typeof incidents.lastSeenAt) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function incidentConditions(userId: string, filters: IncidentFilters): SQL[] {
  const where: SQL[] = [eq(incidents.userId, userId)];
  if (filters.status) where.push(eq(incidents.status, filters.status));
  if (filters.severity) where.push(eq(incidents.severity, filters.severity));
  if (filters.failureType) where.push(eq(incidents.failureType, filters.failureType));
  if (filters.branch) where.push(eq(incidents.branch, filters.branch));
  if (filters.repository)
    where.push(sql`lower(${repositoryConnections.fullName}) = lower(${filters.repository})`);
  return where;
}

/**
 * See flakeCounts. Constant text with the question as one JSON value, so it is prepared
 * (and re-prepared as the tables grow) like the ingestion statements.
 */
const FLAKE_COUNTS = `
with q as (select $1::text::json as v),
per_commit as (
  select j.name, j.head_sha,
    min(j.completed_at) filter (where j.conclusion in ('failure', 'timed_out')) as first_failed,
    max(j.completed_at) filter (where j.conclusion = 'success') as last_passed
  from q, workflow_jobs j
  join workflow_runs r on r.id = j.run_id
  where j.connection_id = (q.v->>'connectionId')::uuid
    and j.name = any(array(select json_array_elements_text(q.v->'jobNames')))
    and j.head_sha is not null
    and j.status = 'completed'
    and j.completed_at >= (q.v->>'since')::timestamptz
    and (q.v->>'workflowId' is null or r.workflow_id = (q.v->>'workflowId')::bigint)
  group by j.name, j.head_sha
)
select name,
  count(*)::int as commits,
  (count(*) filter (where first_failed < last_passed))::int as flaky
from per_commit group by name`;

/** A list of conclusions as SQL literals (constants of this file, not input). */
const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * See runsWorthDeciding. Constant text, the runs as one JSON literal (no describe trip).
 * Which runs are candidates repeats decisionOf (on-run-recorded.ts) in SQL: completed, not a
 * placeholder, a conclusion that is not a failure, and either success or a job of the run's
 * attempt that passed.
 */
const RUNS_WORTH_DECIDING = `
select r.connection_id::text as connection_id, r.github_run_id
from json_array_elements($1::text::json) k
join workflow_runs r on r.connection_id = (k->>'connectionId')::uuid
  and r.github_run_id = (k->>'githubRunId')::bigint
where not r.placeholder and r.status = 'completed' and r.conclusion is not null
  and r.conclusion not in (${sqlList(FAILING_CONCLUSIONS)})
  and ((r.conclusion = 'success' and exists (
      select 1 from incidents inc
      where inc.connection_id = r.connection_id
        and inc.status in ('open', 'acknowledged')
        and inc.branch is not distinct from r.head_branch
        and case when r.workflow_id is not null
          then inc.workflow_id = r.workflow_id
          else inc.workflow_id is null
            and inc.workflow_name is not distinct from r.workflow_name end))
    or exists (
      select 1 from workflow_jobs passed
      join workflow_jobs wj on wj.connection_id = r.connection_id
        and wj.head_sha = coalesce(passed.head_sha, r.head_sha)
        and wj.conclusion in (${sqlList(FAILED_JOB_CONCLUSIONS)})
      join incident_occurrences io on io.run_id = wj.run_id and io.run_attempt = wj.run_attempt
      where passed.run_id = r.id and passed.run_attempt = r.run_attempt
        and passed.conclusion = 'success'))`;

/** The first incident of a fingerprint in `order` among those `status` allows, locked. */
async function latestWithFingerprint(
  tx: Db,
  connectionId: string,
  fingerprint: string,
  status: SQL,
  order: SQL,
): Promise<Incident | undefined> {
  const [row] = await tx
    .select()
    .from(incidents)
    .where(
      and(eq(incidents.connectionId, connectionId), eq(incidents.fingerprint, fingerprint), status),
    )
    .orderBy(order)
    .limit(1)
    .for('update');
  return row;
}

export function createIncidentsStore(db: Db) {
  return {
    // ---------------------------------------------------------------------------------
    // Lifecycle (called inside the ingestion transaction)

    /** Serialises lifecycle decisions on one key until the transaction ends. */
    async lock(key: string, tx: Db = db): Promise<void> {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    },

    async insert(values: NewIncident, tx: Db = db): Promise<Incident> {
      const [row] = await tx.insert(incidents).values(values).returning();
      return row!;
    },

    async update(id: string, patch: IncidentPatch, tx: Db = db): Promise<Incident> {
      const [row] = await tx
        .update(incidents)
        .set({ ...patch, updatedAt: new Date() })
        .where(eq(incidents.id, id))
        .returning();
      return row!;
    },

    /** A running analysis that was put off (not failed): it waits again. */
    async markAnalysisWaiting(id: string, tx: Db = db): Promise<void> {
      await tx
        .update(incidents)
        .set({ analysisStatus: 'pending', updatedAt: new Date() })
        .where(and(eq(incidents.id, id), eq(incidents.analysisStatus, 'running')));
    },

    async getById(id: string, tx: Db = db): Promise<Incident | undefined> {
      const [row] = await tx.select().from(incidents).where(eq(incidents.id, id));
      return row;
    },

    /** The incident row locked for the rest of the transaction. */
    async lockById(id: string, tx: Db = db): Promise<Incident | undefined> {
      const [row] = await tx.select().from(incidents).where(eq(incidents.id, id)).for('update');
      return row;
    },

    /** The incident that already counted this run attempt, if any. */
    async findByRunAttempt(
      connectionId: string,
      runId: string,
      runAttempt: number,
      tx: Db = db,
    ): Promise<Incident | undefined> {
      const [row] = await tx
        .select({ incident: incidents })
        .from(incidentOccurrences)
        .innerJoin(incidents, eq(incidents.id, incidentOccurrences.incidentId))
        .where(
          and(
            eq(incidents.connectionId, connectionId),
            eq(incidentOccurrences.runId, runId),
            eq(incidentOccurrences.runAttempt, runAttempt),
          ),
        )
        .limit(1)
        .for('update', { of: incidents });
      return row?.incident;
    },

    /** The latest incident with this fingerprint that is not resolved (open, acknowledged or ignored). */
    async findUnresolved(
      connectionId: string,
      fingerprint: string,
      tx: Db = db,
    ): Promise<Incident | undefined> {
      return latestWithFingerprint(
        tx,
        connectionId,
        fingerprint,
        ne(incidents.status, 'resolved'),
        desc(incidents.lastSeenAt),
      );
    },

    async findLastResolved(
      connectionId: string,
      fingerprint: string,
      tx: Db = db,
    ): Promise<Incident | undefined> {
      return latestWithFingerprint(
        tx,
        connectionId,
        fingerprint,
        eq(incidents.status, 'resolved'),
        sql`${incidents.resolvedAt} desc nulls last`,
      );
    },

    /** Open and acknowledged incidents of one workflow on one branch (a green run resolves them). */
    async findActiveForWorkflow(
      connectionId: string,
      workflow: { id: number | null; name: string | null },
      branch: string | null,
      tx: Db = db,
    ): Promise<Incident[]> {
      const sameWorkflow =
        workflow.id !== null
          ? eq(incidents.workflowId, workflow.id)
          : and(
              isNull(incidents.workflowId),
              workflow.name === null
                ? isNull(incidents.workflowName)
                : eq(incidents.workflowName, workflow.name),
            );
      return tx
        .select()
        .from(incidents)
        .where(
          and(
            eq(incidents.connectionId, connectionId),
            sameWorkflow,
            branch === null ? isNull(incidents.branch) : eq(incidents.branch, branch),
            inArray(incidents.status, ['open', 'acknowledged']),
          ),
        )
        .orderBy(asc(incidents.openedAt))
        .for('update');
    },

    /** Adds an occurrence; false when this run attempt was already counted. */
    async addOccurrence(
      values: { incidentId: string; runId: string; runAttempt: number; occurredAt: Date },
      tx: Db = db,
    ): Promise<boolean> {
      const rows = await tx
        .insert(incidentOccurrences)
        .values(values)
        .onConflictDoNothing()
        .returning({ id: incidentOccurrences.id });
      return rows.length === 1;
    },

    async latestOccurrence(
      incidentId: string,
      tx: Db = db,
    ): Promise<IncidentOccurrence | undefined> {
      const [row] = await tx
        .select()
        .from(incidentOccurrences)
        .where(eq(incidentOccurrences.incidentId, incidentId))
        .orderBy(desc(incidentOccurrences.occurredAt), desc(incidentOccurrences.runAttempt))
        .limit(1);
      return row;
    },

    async addEvent(
      values: {
        incidentId: string;
        kind: string;
        actor?: string;
        note?: string | null;
        data?: Record<string, unknown>;
      },
      tx: Db = db,
    ): Promise<IncidentEvent> {
      const [row] = await tx.insert(incidentEvents).values(values).returning();
      return row!;
    },

    /** The incident's first event of this kind whose data contains `match` (jsonb @>). */
    async findEvent(
      incidentId: string,
      kind: string,
      match: Record<string, unknown>,
      tx: Db = db,
    ): Promise<IncidentEvent | undefined> {
      const [row] = await tx
        .select()
        .from(incidentEvents)
        .where(
          and(
            eq(incidentEvents.incidentId, incidentId),
            eq(incidentEvents.kind, kind),
            sql`${incidentEvents.data} @> ${JSON.stringify(match)}::jsonb`,
          ),
        )
        .orderBy(asc(incidentEvents.createdAt))
        .limit(1);
      return row;
    },

    /** An event of this kind on any incident of the connection (a run spans incidents). */
    async findEventInConnection(
      connectionId: string,
      kind: string,
      match: Record<string, unknown>,
      tx: Db = db,
    ): Promise<IncidentEvent | undefined> {
      const [row] = await tx
        .select({ event: incidentEvents })
        .from(incidentEvents)
        .innerJoin(incidents, eq(incidents.id, incidentEvents.incidentId))
        .where(
          and(
            eq(incidents.connectionId, connectionId),
            eq(incidentEvents.kind, kind),
            sql`${incidentEvents.data} @> ${JSON.stringify(match)}::jsonb`,
          ),
        )
        .limit(1);
      return row?.event;
    },

    async updateEvent(
      id: string,
      patch: { note?: string | null; data?: Record<string, unknown> },
      tx: Db = db,
    ): Promise<void> {
      await tx.update(incidentEvents).set(patch).where(eq(incidentEvents.id, id));
    },

    /**
     * Of these runs (read as stored: they may have been written by the statement before, in
     * the same transaction), the passing or green ones the lifecycle could act on, as
     * `connectionId:githubRunId` — one query for a whole batch, so the common case (nothing
     * to resolve, no failure to call flaky) takes no lock and no further round trip. A run is kept if it is green and its workflow has
     * an open or acknowledged incident on its branch, or if an incident counted a failed
     * job on one of its commits (the evidence markFlakyJobs looks for, by any job name).
     */
    async runsWorthDeciding(
      runs: ReadonlyArray<{ connectionId: string; githubRunId: number }>,
      tx: Db = db,
    ): Promise<Set<string>> {
      if (runs.length === 0) return new Set();
      const json = JSON.stringify(
        runs.map((r) => ({ connectionId: r.connectionId, githubRunId: r.githubRunId })),
      );
      // The last statement of ingestion's pipeline (record-webhook.ts): sent at once.
      const rows = await executeConstant(tx, RUNS_WORTH_DECIDING, [atOnce(json)]);
      return new Set(
        rows.map((r) => `${String(r['connection_id'])}:${String(r['github_run_id'])}`),
      );
    },

    /**
     * Failures of these jobs (same repository and commit) that an incident counted:
     * evidence that jobs which just passed there are flaky. One query for a whole run.
     */
    async countedFailuresOfJobs(
      q: { connectionId: string; headSha: string; jobNames: string[]; workflowId: number | null },
      tx: Db = db,
    ): Promise<
      Array<{
        incidentId: string;
        jobName: string;
        githubJobId: number;
        githubRunId: number;
        runAttempt: number;
        completedAt: Date | null;
      }>
    > {
      if (q.jobNames.length === 0) return [];
      return tx
        .selectDistinct({
          incidentId: incidentOccurrences.incidentId,
          jobName: workflowJobs.name,
          githubJobId: workflowJobs.githubJobId,
          githubRunId: workflowJobs.githubRunId,
          runAttempt: workflowJobs.runAttempt,
          completedAt: workflowJobs.completedAt,
        })
        .from(workflowJobs)
        .innerJoin(
          incidentOccurrences,
          and(
            eq(incidentOccurrences.runId, workflowJobs.runId),
            eq(incidentOccurrences.runAttempt, workflowJobs.runAttempt),
          ),
        )
        .innerJoin(incidents, eq(incidents.id, incidentOccurrences.incidentId))
        .where(
          and(
            eq(workflowJobs.connectionId, q.connectionId),
            eq(workflowJobs.headSha, q.headSha),
            inArray(workflowJobs.name, q.jobNames),
            inArray(workflowJobs.conclusion, FAILED_JOB_CONCLUSIONS),
            q.workflowId === null ? undefined : eq(incidents.workflowId, q.workflowId),
          ),
        );
    },

    // ---------------------------------------------------------------------------------
    // Analysis (the analyse-incident job)

    /**
     * Incidents whose analysis was asked for, left the outbox and never finished (not
     * ignored), newest first.
     */
    async unfinishedAnalyses(
      since: Date,
      limit: number,
      tx: Db = db,
    ): Promise<Array<{ id: string; occurrences: number }>> {
      return tx
        .select({ id: incidents.id, occurrences: incidents.occurrences })
        .from(incidents)
        .where(
          and(
            inArray(incidents.analysisStatus, ['pending', 'running']),
            ne(incidents.status, 'ignored'),
            gt(incidents.lastSeenAt, since),
            // A request still waiting in the outbox will run anyway.
            sql`not exists (select 1 from ${outbox} where ${outbox.dispatchedAt} is null and ${outbox.payload}->>'incidentId' = ${incidents.id}::text)`,
          ),
        )
        .orderBy(desc(incidents.lastSeenAt))
        .limit(limit);
    },

    async connectionById(id: string, tx: Db = db): Promise<RepositoryConnection | undefined> {
      const [row] = await tx
        .select()
        .from(repositoryConnections)
        .where(eq(repositoryConnections.id, id));
      return row;
    },

    async runById(id: string, tx: Db = db): Promise<WorkflowRun | undefined> {
      const [row] = await tx.select().from(workflowRuns).where(eq(workflowRuns.id, id));
      return row;
    },

    /** Jobs of one attempt of a run, in the order GitHub created them. */
    async jobsOfRunAttempt(runId: string, runAttempt: number, tx: Db = db): Promise<WorkflowJob[]> {
      return tx
        .select()
        .from(workflowJobs)
        .where(and(eq(workflowJobs.runId, runId), eq(workflowJobs.runAttempt, runAttempt)))
        .orderBy(asc(workflowJobs.githubJobId));
    },

    /**
     * Per job name: on how many commits it ran in the window, and on how many of those it
     * failed first and passed later (a re-run or a later run of the same commit).
     */
    async flakeCounts(
      q: { connectionId: string; workflowId: number | null; jobNames: string[]; since: Date },
      tx: Db = db,
    ): Promise<Map<string, FlakeCounts>> {
      const out = new Map<string, FlakeCounts>();
      if (q.jobNames.length === 0) return out;
      const rows = await executeConstant(tx, FLAKE_COUNTS, [
        JSON.stringify({
          connectionId: q.connectionId,
          workflowId: q.workflowId,
          jobNames: q.jobNames,
          since: q.since.toISOString(),
        }),
      ]);
      for (const row of rows) {
        out.set(String(row['name']), {
          commits: Number(row['commits']),
          flaky: Number(row['flaky']),
        });
      }
      return out;
    },

    // ---------------------------------------------------------------------------------
    // Owner-scoped reads (API and pages)

    async listForUser(
      userId: string,
      filters: IncidentFilters,
      page: { limit: number; after?: Cursor | undefined },
    ): Promise<{ items: ListedIncident[]; next: Cursor | null }> {
      const where = incidentConditions(userId, filters);
      if (page.after) {
        where.push(
          sql`(${incidents.lastSeenAt}, ${incidents.id}) < (${page.after.at}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      const rows = await db
        .select({
          incident: incidents,
          repository: repositoryConnections.fullName,
          cursorAt: exactTime(incidents.lastSeenAt),
        })
        .from(incidents)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, incidents.connectionId))
        .where(and(...where))
        .orderBy(desc(incidents.lastSeenAt), desc(incidents.id))
        .limit(page.limit + 1);
      const items = rows
        .slice(0, page.limit)
        .map((r) => ({ ...r.incident, repository: r.repository, cursorAt: r.cursorAt }));
      const last = items.at(-1);
      return {
        items,
        next: rows.length > page.limit && last ? { at: last.cursorAt, id: last.id } : null,
      };
    },

    /** How many incidents per status match the other filters (the status tabs). */
    async countByStatus(
      userId: string,
      filters: Omit<IncidentFilters, 'status'>,
    ): Promise<Record<IncidentStatus, number>> {
      const rows = await db
        .select({ status: incidents.status, n: count() })
        .from(incidents)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, incidents.connectionId))
        .where(and(...incidentConditions(userId, filters)))
        .groupBy(incidents.status);
      const counts = { open: 0, acknowledged: 0, resolved: 0, ignored: 0 };
      for (const row of rows) {
        if (row.status in counts) counts[row.status as IncidentStatus] = Number(row.n);
      }
      return counts;
    },

    async getForUser(
      userId: string,
      id: string,
    ): Promise<{ incident: Incident; connection: RepositoryConnection } | undefined> {
      const [row] = await db
        .select({ incident: incidents, connection: repositoryConnections })
        .from(incidents)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, incidents.connectionId))
        .where(and(eq(incidents.id, id), eq(incidents.userId, userId)));
      return row;
    },

    async countOccurrences(incidentId: string): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(incidentOccurrences)
        .where(eq(incidentOccurrences.incidentId, incidentId));
      return Number(row?.n ?? 0);
    },

    /** Newest first. */
    async listOccurrences(
      incidentId: string,
      page: { limit: number; after?: Cursor | undefined },
    ): Promise<{ items: OccurrenceWithRun[]; next: Cursor | null }> {
      const where: SQL[] = [eq(incidentOccurrences.incidentId, incidentId)];
      if (page.after) {
        where.push(
          sql`(${incidentOccurrences.occurredAt}, ${incidentOccurrences.id}) < (${page.after.at}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      const rows = await db
        .select({
          id: incidentOccurrences.id,
          runId: incidentOccurrences.runId,
          runAttempt: incidentOccurrences.runAttempt,
          occurredAt: incidentOccurrences.occurredAt,
          cursorAt: exactTime(sql`${incidentOccurrences.occurredAt}`),
          githubRunId: workflowRuns.githubRunId,
          runNumber: workflowRuns.runNumber,
          conclusion: workflowRuns.conclusion,
          event: workflowRuns.event,
          headSha: workflowRuns.headSha,
          headBranch: workflowRuns.headBranch,
          commitMessage: workflowRuns.commitMessage,
          actorLogin: workflowRuns.actorLogin,
          htmlUrl: workflowRuns.htmlUrl,
          displayTitle: workflowRuns.displayTitle,
        })
        .from(incidentOccurrences)
        .innerJoin(workflowRuns, eq(workflowRuns.id, incidentOccurrences.runId))
        .where(and(...where))
        .orderBy(desc(incidentOccurrences.occurredAt), desc(incidentOccurrences.id))
        .limit(page.limit + 1);
      const items = rows.slice(0, page.limit);
      const last = items.at(-1);
      return {
        items,
        next: rows.length > page.limit && last ? { at: last.cursorAt, id: last.id } : null,
      };
    },

    /** Oldest first: a timeline reads forwards. */
    async listEvents(
      incidentId: string,
      page: { limit: number; after?: Cursor | undefined },
    ): Promise<{ items: Array<IncidentEvent & { cursorAt: string }>; next: Cursor | null }> {
      const where: SQL[] = [eq(incidentEvents.incidentId, incidentId)];
      if (page.after) {
        where.push(
          sql`(${incidentEvents.createdAt}, ${incidentEvents.id}) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      const rows = await db
        .select({ event: incidentEvents, cursorAt: exactTime(sql`${incidentEvents.createdAt}`) })
        .from(incidentEvents)
        .where(and(...where))
        .orderBy(asc(incidentEvents.createdAt), asc(incidentEvents.id))
        .limit(page.limit + 1);
      const items = rows.slice(0, page.limit).map((r) => ({ ...r.event, cursorAt: r.cursorAt }));
      const last = items.at(-1);
      return {
        items,
        next: rows.length > page.limit && last ? { at: last.cursorAt, id: last.id } : null,
      };
    },

    // ---------------------------------------------------------------------------------
    // Dashboard

    async dashboard(userId: string, now: Date): Promise<DashboardData> {
      const day = 24 * 3600 * 1000;
      const since30 = new Date(now.getTime() - 30 * day);
      const since7 = new Date(now.getTime() - 7 * day);
      // A run's moment: when it finished, else when GitHub last touched it.
      const runAt = sql`coalesce(${workflowRuns.completedAt}, ${workflowRuns.githubUpdatedAt}, ${workflowRuns.createdAt})`;
      const counted = and(
        eq(workflowRuns.userId, userId),
        eq(workflowRuns.status, 'completed'),
        sql`${workflowRuns.conclusion} not in ('cancelled', 'skipped', 'neutral', 'stale')`,
        sql`${runAt} >= ${since30.toISOString()}::timestamptz`,
      );
      const failed = sql`${workflowRuns.conclusion} in ('failure', 'timed_out', 'startup_failure')`;

      const active = await db
        .select({ status: incidents.status, severity: incidents.severity, n: count() })
        .from(incidents)
        .where(
          and(eq(incidents.userId, userId), inArray(incidents.status, ['open', 'acknowledged'])),
        )
        .groupBy(incidents.status, incidents.severity);

      const daily = await db
        .select({
          day: sql<string>`to_char(date_trunc('day', ${runAt} at time zone 'UTC'), 'YYYY-MM-DD')`,
          total: sql<number>`count(*)::int`,
          failed: sql<number>`(count(*) filter (where ${failed}))::int`,
        })
        .from(workflowRuns)
        .where(counted)
        .groupBy(sql`1`)
        .orderBy(sql`1`);

      const [mttr] = await db
        .select({
          seconds: sql<
            number | null
          >`avg(extract(epoch from ${incidents.resolvedAt} - ${incidents.openedAt}))::float8`,
          n: sql<number>`count(*)::int`,
        })
        .from(incidents)
        .where(
          and(
            eq(incidents.userId, userId),
            eq(incidents.status, 'resolved'),
            sql`${incidents.resolvedAt} >= ${since30.toISOString()}::timestamptz`,
          ),
        );

      const topWorkflows = await db
        .select({
          repository: repositoryConnections.fullName,
          workflow: sql<string>`coalesce(${workflowRuns.workflowName}, '(unnamed)')`,
          failed: sql<number>`(count(*) filter (where ${failed}))::int`,
          total: sql<number>`count(*)::int`,
        })
        .from(workflowRuns)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, workflowRuns.connectionId))
        .where(counted)
        .groupBy(repositoryConnections.fullName, sql`2`)
        .having(sql`count(*) filter (where ${failed}) > 0`)
        .orderBy(sql`3 desc`, sql`1`, sql`2`)
        .limit(5);

      const types = await db
        .select({
          type: sql<string>`coalesce(${incidents.failureType}, 'pending')`,
          n: sql<number>`count(*)::int`,
        })
        .from(incidents)
        .where(and(eq(incidents.userId, userId), gt(incidents.lastSeenAt, since30)))
        .groupBy(sql`1`)
        .orderBy(sql`2 desc`, sql`1`);

      const days = new Map(daily.map((d) => [d.day, d]));
      const series: DailyRuns[] = [];
      for (let i = 29; i >= 0; i--) {
        const key = new Date(now.getTime() - i * day).toISOString().slice(0, 10);
        const d = days.get(key);
        series.push({ day: key, total: Number(d?.total ?? 0), failed: Number(d?.failed ?? 0) });
      }
      const sum = (from: Date) => {
        const fromKey = from.toISOString().slice(0, 10);
        const inWindow = series.filter((d) => d.day > fromKey);
        return {
          total: inWindow.reduce((a, d) => a + d.total, 0),
          failed: inWindow.reduce((a, d) => a + d.failed, 0),
        };
      };
      return {
        active: active.map((a) => ({ status: a.status, severity: a.severity, count: Number(a.n) })),
        daily: series,
        last7: sum(since7),
        last30: {
          total: series.reduce((a, d) => a + d.total, 0),
          failed: series.reduce((a, d) => a + d.failed, 0),
        },
        meanTimeToResolveSeconds: mttr?.seconds === null || !mttr ? null : Number(mttr.seconds),
        resolvedCount: Number(mttr?.n ?? 0),
        topWorkflows: topWorkflows.map((w) => ({
          repository: w.repository,
          workflow: w.workflow,
          failed: Number(w.failed),
          total: Number(w.total),
        })),
        failureTypes: types.map((t) => ({ type: t.type, count: Number(t.n) })),
      };
    },
  };
}

export interface DailyRuns {
  /** YYYY-MM-DD (UTC). */
  day: string;
  total: number;
  failed: number;
}

export interface DashboardData {
  active: Array<{ status: string; severity: string; count: number }>;
  /** The last 30 days, oldest first, one entry per day (zeros included). */
  daily: DailyRuns[];
  last7: { total: number; failed: number };
  last30: { total: number; failed: number };
  meanTimeToResolveSeconds: number | null;
  resolvedCount: number;
  topWorkflows: Array<{ repository: string; workflow: string; failed: number; total: number }>;
  failureTypes: Array<{ type: string; count: number }>;
}

export type IncidentsStore = ReturnType<typeof createIncidentsStore>;
