// Workflow jobs: the guarded multi-row upsert of backfill, the one-statement write of a
// group of webhook deliveries' runs and jobs, and reads by run.
import { and, asc, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { workflowJobs, workflowRuns } from '../schema/index.ts';
import {
  GENERATED,
  RUN_ADVANCES_TEXT,
  RUN_KEEP,
  executeConstant,
  fromDriverRow,
  recordsJson,
  recordsetOf,
  replaceSetText,
  statusRankText,
  type WorkflowRun,
  type WorkflowRunInput,
} from './workflow-runs-store.ts';

export type WorkflowJob = typeof workflowJobs.$inferSelect;
export type WorkflowJobInput = Omit<
  typeof workflowJobs.$inferInsert,
  'id' | 'createdAt' | 'updatedAt'
>;

/** Finished steps, then all steps: a job in the same status moves on as its steps complete. */
const completedSteps = (steps: string) =>
  `jsonb_array_length(jsonb_path_query_array(${steps}, '$[*] ? (@.status == "completed")'))`;

// A job id belongs to one attempt, so the attempt rarely differs; status rank and step
// progress decide. An identical snapshot is not a move, so re-sent events change nothing.
const JOB_ADVANCES_TEXT = `(excluded.run_attempt, ${statusRankText('excluded.status')}, ${completedSteps('excluded.steps')}, jsonb_array_length(excluded.steps))
  > (workflow_jobs.run_attempt, ${statusRankText('workflow_jobs.status')}, ${completedSteps('workflow_jobs.steps')}, jsonb_array_length(workflow_jobs.steps))`;

const JOB_KEEP = ['id', 'connection_id', 'github_job_id', 'created_at'];

function replaceSet() {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(workflowJobs))) {
    if (JOB_KEEP.includes(column.name)) continue;
    set[key] = column.name === 'updated_at' ? sql`now()` : sql.raw(`excluded."${column.name}"`);
  }
  return set;
}

const columnNames = (table: typeof workflowRuns | typeof workflowJobs) =>
  Object.values(getTableColumns(table)).map((c) => c.name);

/** The select list inserting a table's columns in order: computed ones, else `alias.col`. */
const selectList = (
  table: typeof workflowRuns | typeof workflowJobs,
  alias: string,
  computed: Record<string, string>,
) =>
  columnNames(table)
    .map((name) => computed[name] ?? `${alias}."${name}"`)
    .join(', ');

/**
 * Runs ($1) and jobs ($2) of a group of deliveries, in one statement (one round trip, one
 * prepared text): runs upserted (guarded), only for enabled connections and with the owner
 * taken from the connection; jobs upserted against the run rows — just written or already
 * stored; then every run the group names, with whether this statement moved it or one of
 * its jobs forward. (Not their jobs: the hooks read those only for the rare run they act on.)
 * A data-modifying CTE sees the table as it was before the statement, hence the unions of
 * RETURNING rows with stored rows those did not replace.
 */
const WRITE_RUNS_AND_JOBS = `
with run_in as (
  select * from json_populate_recordset(null::workflow_runs, $1::text::json)
), up as (
  insert into workflow_runs (${columnNames(workflowRuns)
    .map((n) => `"${n}"`)
    .join(', ')})
  select ${selectList(workflowRuns, 'r', {
    id: 'gen_random_uuid()',
    user_id: 'c.user_id',
    created_at: 'now()',
    updated_at: 'now()',
  })}
  from run_in r join repository_connections c on c.id = r.connection_id and c.enabled
  order by r.connection_id, r.github_run_id
  on conflict (connection_id, github_run_id) do update set ${replaceSetText(workflowRuns, RUN_KEEP)}
  where ${RUN_ADVANCES_TEXT}
  returning *
), job_in as (
  select * from json_populate_recordset(null::workflow_jobs, $2::text::json)
), run_keys as (
  select connection_id, github_run_id from run_in
  union
  select connection_id, github_run_id from job_in
), runs_now as (
  select u.*, true as run_changed from up u
  union all
  select w.*, false from run_keys k
  -- One unique-index probe a key. As a join, the planner (guessing 100 rows for each JSON
  -- input) hashed the whole table: ~80 ms a group once it held 30,000 runs. The LIMIT (a
  -- unique key: at most one row anyway) keeps it from flattening the lateral back into one.
  cross join lateral (
    select * from workflow_runs w
    where w.connection_id = k.connection_id and w.github_run_id = k.github_run_id
    limit 1
  ) w
  where not exists (select 1 from up u where u.id = w.id)
), jobs_up as (
  insert into workflow_jobs (${columnNames(workflowJobs)
    .map((n) => `"${n}"`)
    .join(', ')})
  select ${selectList(workflowJobs, 'j', {
    id: 'gen_random_uuid()',
    run_id: 'rn.id',
    created_at: 'now()',
    updated_at: 'now()',
  })}
  from job_in j
  join runs_now rn on rn.connection_id = j.connection_id and rn.github_run_id = j.github_run_id
  join repository_connections c on c.id = j.connection_id and c.enabled
  order by j.connection_id, j.github_job_id
  on conflict (connection_id, github_job_id) do update set ${replaceSetText(workflowJobs, JOB_KEEP)}
  where ${JOB_ADVANCES_TEXT}
  returning *
)
select rn.*,
  (rn.run_changed or exists (select 1 from jobs_up ju where ju.run_id = rn.id)) as changed
from runs_now rn`;

export interface RunWritten {
  run: WorkflowRun;
  /** This statement moved the run or one of its jobs forward. */
  changed: boolean;
}

export function createWorkflowJobsStore(db: Db) {
  return {
    /** Inserts new jobs and moves existing ones forward; returns which rows it wrote. */
    async upsertMany(
      rows: WorkflowJobInput[],
      tx: Db = db,
    ): Promise<Array<{ id: string; runId: string; githubJobId: number }>> {
      if (rows.length === 0) return [];
      const sorted = [...rows]
        .sort(
          (a, b) => a.connectionId.localeCompare(b.connectionId) || a.githubJobId - b.githubJobId,
        )
        .map((j) => ({
          ...j,
          runAttempt: j.runAttempt ?? 1,
          labels: j.labels ?? [],
          steps: j.steps ?? [],
          failedSteps: j.failedSteps ?? [],
        }));
      return tx
        .insert(workflowJobs)
        .select(recordsetOf(workflowJobs, sorted, GENERATED))
        .onConflictDoUpdate({
          target: [workflowJobs.connectionId, workflowJobs.githubJobId],
          set: replaceSet(),
          setWhere: sql.raw(JOB_ADVANCES_TEXT),
        })
        .returning({
          id: workflowJobs.id,
          runId: workflowJobs.runId,
          githubJobId: workflowJobs.githubJobId,
        });
    },

    /**
     * Writes the runs and jobs of a group of deliveries in one statement (see
     * WRITE_RUNS_AND_JOBS); rows must have distinct keys (the caller picks the furthest
     * snapshot of each). Returns every run the group names.
     */
    async writeRunsAndJobs(
      runs: WorkflowRunInput[],
      jobs: WorkflowJobInput[] | Array<Omit<WorkflowJobInput, 'runId'>>,
      tx: Db = db,
    ): Promise<RunWritten[]> {
      if (runs.length === 0 && jobs.length === 0) return [];
      const runsJson = recordsJson(
        workflowRuns,
        runs.map((r) => ({
          ...r,
          runAttempt: r.runAttempt ?? 1,
          placeholder: r.placeholder ?? false,
        })),
      );
      const jobsJson = recordsJson(
        workflowJobs,
        jobs.map((j) => ({
          ...j,
          runAttempt: j.runAttempt ?? 1,
          labels: j.labels ?? [],
          steps: j.steps ?? [],
          failedSteps: j.failedSteps ?? [],
        })),
      );
      const rows = await executeConstant(tx, WRITE_RUNS_AND_JOBS, [runsJson, jobsJson]);
      return rows.map((raw) => ({
        run: fromDriverRow(workflowRuns, raw),
        changed: raw['changed'] === true,
      }));
    },

    /** The jobs of each run's current attempt, by run id (started first, then by job id). */
    async currentAttemptJobs(
      runs: ReadonlyArray<Pick<WorkflowRun, 'id' | 'runAttempt'>>,
      tx: Db = db,
    ): Promise<Map<string, WorkflowJob[]>> {
      const byRun = new Map<string, WorkflowJob[]>(runs.map((r) => [r.id, []]));
      if (runs.length === 0) return byRun;
      const attempt = new Map(runs.map((r) => [r.id, r.runAttempt]));
      const rows = await tx
        .select()
        .from(workflowJobs)
        .where(inArray(workflowJobs.runId, [...attempt.keys()]))
        .orderBy(sql`${workflowJobs.startedAt} asc nulls last`, asc(workflowJobs.githubJobId));
      for (const job of rows) {
        if (job.runAttempt === attempt.get(job.runId)) byRun.get(job.runId)!.push(job);
      }
      return byRun;
    },

    /** Jobs of one run of one user (every attempt, newest attempt first). */
    async listForUserRun(userId: string, runId: string, tx: Db = db): Promise<WorkflowJob[]> {
      return tx
        .select(getTableColumns(workflowJobs))
        .from(workflowJobs)
        .innerJoin(workflowRuns, eq(workflowRuns.id, workflowJobs.runId))
        .where(and(eq(workflowRuns.userId, userId), eq(workflowJobs.runId, runId)))
        .orderBy(
          desc(workflowJobs.runAttempt),
          asc(workflowJobs.startedAt),
          asc(workflowJobs.githubJobId),
        );
    },
  };
}

export type WorkflowJobsStore = ReturnType<typeof createWorkflowJobsStore>;
