// Workflow runs: the multi-row upsert ingestion uses (guarded so a run never moves
// backwards), and the owner-scoped reads behind the runs API, pages, stats and incidents.
import {
  and,
  desc,
  eq,
  getTableColumns,
  gte,
  ilike,
  inArray,
  lt,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../client.ts';
import { repositoryConnections, workflowRuns } from '../schema/index.ts';

export type WorkflowRun = typeof workflowRuns.$inferSelect;
/** What ingestion and backfill write; ids and bookkeeping timestamps are the database's. */
export type WorkflowRunInput = Omit<
  typeof workflowRuns.$inferInsert,
  'id' | 'createdAt' | 'updatedAt'
>;

/**
 * How far along a run or job is. A snapshot may replace a stored one only if it is further
 * along: (attempt, status rank, GitHub's updated_at) compared in that order. Statuses GitHub
 * may add later rank lowest, so they can never overwrite a known state.
 */
export const STATUS_RANK: Readonly<Record<string, number>> = {
  requested: 0,
  pending: 1,
  queued: 1,
  waiting: 2,
  in_progress: 3,
  completed: 4,
};

/** The same ranking as SQL text, around an SQL expression (our constants, never input). */
export function statusRankText(expression: string): string {
  const cases = Object.entries(STATUS_RANK)
    .map(([status, rank]) => `when '${status}' then ${rank}`)
    .join(' ');
  return `(case ${expression} ${cases} else -1 end)`;
}

/**
 * The ON CONFLICT guard of a run upsert ("workflow_runs" is the stored row, "excluded" the
 * incoming one). A real snapshot replaces a placeholder (written for a job that arrived
 * before its run) of the same or an earlier attempt, and replaces a real row only when it
 * is further along. A placeholder never overwrites a real row; it moves another placeholder
 * forward (attempt, status), ties going to the earlier creation time, so the order of
 * arrival does not matter.
 */
export const RUN_ADVANCES_TEXT = `(not excluded.placeholder and (
  (workflow_runs.placeholder and excluded.run_attempt >= workflow_runs.run_attempt)
  or (excluded.run_attempt, ${statusRankText('excluded.status')}, coalesce(excluded.github_updated_at, '-infinity'::timestamptz))
   > (workflow_runs.run_attempt, ${statusRankText('workflow_runs.status')}, coalesce(workflow_runs.github_updated_at, '-infinity'::timestamptz))
)) or (excluded.placeholder and workflow_runs.placeholder and
  (excluded.run_attempt, ${statusRankText('excluded.status')}, workflow_runs.github_created_at)
   > (workflow_runs.run_attempt, ${statusRankText('workflow_runs.status')}, excluded.github_created_at))`;

/** `col = excluded.col, …` for every column but `keep`; updated_at = now(). */
export function replaceSetText(table: PgTable, keep: readonly string[]): string {
  return Object.values(getTableColumns(table))
    .filter((c) => !keep.includes(c.name))
    .map((c) =>
      c.name === 'updated_at' ? `"updated_at" = now()` : `"${c.name}" = excluded."${c.name}"`,
    )
    .join(', ');
}

export const RUN_KEEP = ['id', 'user_id', 'connection_id', 'github_run_id', 'created_at'];

/**
 * A row as the driver returns it from raw SQL (snake_case keys; timestamps, int8 and arrays
 * possibly as text) → the typed row Drizzle would give: each column maps its own value, the
 * same way on postgres.js and PGlite.
 */
export function fromDriverRow<T extends PgTable>(
  table: T,
  raw: Record<string, unknown>,
): T['$inferSelect'] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T['$inferSelect'];
}

/** Rows of raw SQL, whichever driver ran it (postgres.js: an array; PGlite: `{ rows }`). */
export function driverRows(result: unknown): Array<Record<string, unknown>> {
  return Array.isArray(result)
    ? (result as Array<Record<string, unknown>>)
    : ((result as { rows?: Array<Record<string, unknown>> }).rows ?? []);
}

/**
 * Constant SQL text with `$n` markers → one SQL statement with the values written in as
 * literals: text dollar-quoted (with a tag the text does not contain, so no content can
 * end the literal, whatever standard_conforming_strings says), booleans and null as
 * keywords.
 */
export function withLiterals(text: string, values: ReadonlyArray<ConstantValue>): SQL {
  return sql.raw(
    text.replace(/\$(\d+)/g, (_m, n: string) => {
      const value = values[Number(n) - 1];
      if (value === null) return 'null';
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (value === undefined) throw new RangeError(`no value for $${n}`);
      return dollarQuoted(value);
    }),
  );
}

/** A value for a constant statement: text (JSON or not), a boolean, or null. */
export type ConstantValue = string | boolean | null;

interface PostgresJsClient {
  unsafe(
    text: string,
    values: ReadonlyArray<ConstantValue>,
    options: { prepare: boolean },
  ): Promise<Array<Record<string, unknown>>>;
}

/**
 * Runs one of the hot ingestion statements: constant text, `$n` values (text, booleans or
 * null; write JSON as `$n::text::json`). On Postgres it is a named prepared statement
 * of the connection: parsed and planned once a plan generation (planGeneration), then a
 * single Bind/Execute that postgres.js pipelines with its neighbours — planning the runs
 * and jobs statement alone took ~1.7 ms a group. PGlite gets the values written in as
 * literals. Rows come back raw, as tx.execute gives them (see fromDriverRow).
 */
export async function executeConstant(
  tx: Db,
  text: string,
  values: ReadonlyArray<ConstantValue>,
): Promise<Array<Record<string, unknown>>> {
  // Drizzle keeps the driver's client on its session; postgres.js is the one with unsafe().
  const client = (tx as unknown as { session?: { client?: Partial<PostgresJsClient> } }).session
    ?.client;
  if (typeof client?.unsafe === 'function') {
    return [
      ...(await (client as PostgresJsClient).unsafe(planGeneration(text), values, {
        prepare: true,
      })),
    ];
  }
  return driverRows(await tx.execute(withLiterals(text, values)));
}

/** Executions so far of each constant statement in this process, and its current text. */
const generations = new Map<string, { executions: number; text: string }>();

/**
 * The text to prepare for a constant statement: the statement and its plan generation,
 * which moves on after 4, 16, 64 … executions (15 times in a billion). A new text is a new
 * prepared statement, so its generic plan is made afresh: it follows the tables from empty
 * (when any index scan looks as cheap as any other) to large, even where no ANALYZE runs
 * to invalidate cached plans (autovacuum off). Earlier generations stay prepared on their
 * connection until postgres.js retires it (max_lifetime, 30–60 min by default).
 */
function planGeneration(text: string): string {
  let entry = generations.get(text);
  if (entry === undefined) {
    entry = { executions: 0, text };
    generations.set(text, entry);
  }
  entry.executions += 1;
  const n = entry.executions;
  // A power of four: 4, 16, 64 …
  if (n >= 4 && (n & (n - 1)) === 0 && Math.log2(n) % 2 === 0) {
    entry.text = `${text}\n-- plan generation ${Math.log2(n) / 2}`;
  }
  return entry.text;
}

function dollarQuoted(text: string): string {
  for (;;) {
    const tag = `$ffx${randomBytes(6).toString('hex')}$`;
    if (!text.includes(tag)) return `${tag}${text}${tag}`;
  }
}

/** Table rows (camelCase keys) as the JSON array json_populate_recordset expands. */
export function recordsJson(table: PgTable, rows: Array<Record<string, unknown>>): string {
  const columns = Object.entries(getTableColumns(table));
  return JSON.stringify(
    rows.map((row) => {
      const record: Record<string, unknown> = {};
      for (const [key, column] of columns) {
        if (row[key] !== undefined) record[column.name] = row[key];
      }
      return record;
    }),
  );
}

const excluded = (name: string) => sql.raw(`excluded."${name}"`);

/**
 * Rows as one JSON parameter, expanded by Postgres (json_populate_recordset): one statement
 * text whatever the number of rows (prepared once per connection), and no per-value
 * parameter handling in Node. `computed` replaces a column's value with an SQL expression.
 */
export function recordsetOf<T extends PgTable>(
  table: T,
  rows: Array<Record<string, unknown>>,
  computed: Record<string, SQL> = {},
): SQL {
  const list = Object.values(getTableColumns(table)).map(
    (column) => computed[column.name] ?? sql.raw(`r."${column.name}"`),
  );
  return sql`select ${sql.join(list, sql`, `)} from json_populate_recordset(null::${table}, ${recordsJson(table, rows)}::text::json) r`;
}

/** id and bookkeeping timestamps are the database's. */
export const GENERATED = {
  id: sql`gen_random_uuid()`,
  created_at: sql`now()`,
  updated_at: sql`now()`,
};

/** Every column an incoming snapshot replaces (identity and created_at stay). */
function replaceSet() {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(workflowRuns))) {
    if (RUN_KEEP.includes(column.name)) continue;
    set[key] = column.name === 'updated_at' ? sql`now()` : excluded(column.name);
  }
  return set;
}

export interface RunKey {
  connectionId: string;
  githubRunId: number;
}

export interface RunFilters {
  connectionId?: string | undefined;
  repository?: string | undefined;
  status?: string | undefined;
  conclusion?: string | undefined;
  branch?: string | undefined;
  workflow?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface RunListRow extends WorkflowRun {
  repositoryFullName: string;
}

export interface Keyset {
  at: Date;
  id: string;
}

export interface RunStatsRow {
  connectionId: string | null;
  repositoryFullName: string | null;
  workflowName: string | null;
  runs: number;
  completed: number;
  success: number;
  failure: number;
  cancelled: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface WorkflowBranchQuery {
  connectionId: string;
  workflowId: number | null;
  workflowName?: string | null | undefined;
  branch: string | null;
  /** Only runs created before this one (exclusive). */
  before?: Date | undefined;
  /** Only completed runs. */
  completedOnly?: boolean | undefined;
  excludeRunId?: string | undefined;
  limit?: number | undefined;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function createWorkflowRunsStore(db: Db) {
  function filterSql(userId: string, f: RunFilters): SQL[] {
    const where: SQL[] = [eq(workflowRuns.userId, userId)];
    if (f.connectionId) where.push(eq(workflowRuns.connectionId, f.connectionId));
    if (f.repository) where.push(ilike(repositoryConnections.fullName, escapeLike(f.repository)));
    if (f.status) where.push(eq(workflowRuns.status, f.status));
    if (f.conclusion) where.push(eq(workflowRuns.conclusion, f.conclusion));
    if (f.branch) where.push(eq(workflowRuns.headBranch, f.branch));
    if (f.workflow) {
      where.push(
        /^\d+$/.test(f.workflow)
          ? or(
              eq(workflowRuns.workflowId, Number(f.workflow)),
              eq(workflowRuns.workflowName, f.workflow),
            )!
          : eq(workflowRuns.workflowName, f.workflow),
      );
    }
    if (f.since) where.push(gte(workflowRuns.githubCreatedAt, f.since));
    if (f.until) where.push(lt(workflowRuns.githubCreatedAt, f.until));
    return where;
  }

  return {
    /**
     * Inserts new runs and moves existing ones forward; returns only the rows it wrote.
     * Rows must have distinct keys (the caller reduces a batch first); they are written in
     * key order so concurrent batches lock rows in the same order.
     */
    async upsertMany(rows: WorkflowRunInput[], tx: Db = db): Promise<WorkflowRun[]> {
      if (rows.length === 0) return [];
      const sorted = [...rows]
        .sort(
          (a, b) => a.connectionId.localeCompare(b.connectionId) || a.githubRunId - b.githubRunId,
        )
        .map((r) => ({ ...r, runAttempt: r.runAttempt ?? 1, placeholder: r.placeholder ?? false }));
      return tx
        .insert(workflowRuns)
        .select(recordsetOf(workflowRuns, sorted, GENERATED))
        .onConflictDoUpdate({
          target: [workflowRuns.connectionId, workflowRuns.githubRunId],
          set: replaceSet(),
          setWhere: sql.raw(RUN_ADVANCES_TEXT),
        })
        .returning();
    },

    async findByKeys(keys: RunKey[], tx: Db = db): Promise<WorkflowRun[]> {
      if (keys.length === 0) return [];
      const connectionIds = [...new Set(keys.map((k) => k.connectionId))];
      const runIds = [...new Set(keys.map((k) => k.githubRunId))];
      const wanted = new Set(keys.map((k) => `${k.connectionId}:${k.githubRunId}`));
      const rows = await tx
        .select()
        .from(workflowRuns)
        .where(
          and(
            inArray(workflowRuns.connectionId, connectionIds),
            inArray(workflowRuns.githubRunId, runIds),
          ),
        );
      return rows.filter((r) => wanted.has(`${r.connectionId}:${r.githubRunId}`));
    },

    async findByGithubId(
      connectionId: string,
      githubRunId: number,
      tx: Db = db,
    ): Promise<WorkflowRun | undefined> {
      const [row] = await tx
        .select()
        .from(workflowRuns)
        .where(
          and(
            eq(workflowRuns.connectionId, connectionId),
            eq(workflowRuns.githubRunId, githubRunId),
          ),
        );
      return row;
    },

    /** One run of one user, with its repository's name; another user's run is undefined. */
    async findById(userId: string, id: string, tx: Db = db): Promise<RunListRow | undefined> {
      const [row] = await tx
        .select({
          ...getTableColumns(workflowRuns),
          repositoryFullName: repositoryConnections.fullName,
        })
        .from(workflowRuns)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, workflowRuns.connectionId))
        .where(and(eq(workflowRuns.userId, userId), eq(workflowRuns.id, id)));
      return row;
    },

    /** Newest first, keyset-paginated on (github_created_at, id). */
    async list(
      userId: string,
      filters: RunFilters,
      page: { after?: Keyset | undefined; limit: number },
      tx: Db = db,
    ): Promise<RunListRow[]> {
      const where = filterSql(userId, filters);
      if (page.after) {
        where.push(
          sql`(${workflowRuns.githubCreatedAt}, ${workflowRuns.id}) < (${page.after.at.toISOString()}::timestamptz, ${page.after.id}::uuid)`,
        );
      }
      return tx
        .select({
          ...getTableColumns(workflowRuns),
          repositoryFullName: repositoryConnections.fullName,
        })
        .from(workflowRuns)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, workflowRuns.connectionId))
        .where(and(...where))
        .orderBy(desc(workflowRuns.githubCreatedAt), desc(workflowRuns.id))
        .limit(page.limit);
    },

    /**
     * The latest runs of one workflow on one branch (newest first): what incident logic
     * compares a run with to decide open / reopen / resolve.
     */
    async latestForWorkflowBranch(q: WorkflowBranchQuery, tx: Db = db): Promise<WorkflowRun[]> {
      const where: SQL[] = [eq(workflowRuns.connectionId, q.connectionId)];
      if (q.workflowId !== null) where.push(eq(workflowRuns.workflowId, q.workflowId));
      else if (q.workflowName) where.push(eq(workflowRuns.workflowName, q.workflowName));
      where.push(
        q.branch === null
          ? sql`${workflowRuns.headBranch} is null`
          : eq(workflowRuns.headBranch, q.branch),
      );
      if (q.before) where.push(lt(workflowRuns.githubCreatedAt, q.before));
      if (q.completedOnly) where.push(eq(workflowRuns.status, 'completed'));
      if (q.excludeRunId) where.push(sql`${workflowRuns.id} <> ${q.excludeRunId}::uuid`);
      return tx
        .select()
        .from(workflowRuns)
        .where(and(...where))
        .orderBy(desc(workflowRuns.githubCreatedAt), desc(workflowRuns.id))
        .limit(q.limit ?? 1);
    },

    /**
     * Counts and duration percentiles of the runs created in [since, until), overall (both
     * keys null), per repository (workflowName null) and per repository + workflow.
     */
    async stats(
      userId: string,
      window: { since: Date; until: Date; connectionId?: string | undefined },
      tx: Db = db,
    ): Promise<RunStatsRow[]> {
      const where = and(
        eq(workflowRuns.userId, userId),
        gte(workflowRuns.githubCreatedAt, window.since),
        lt(workflowRuns.githubCreatedAt, window.until),
        window.connectionId ? eq(workflowRuns.connectionId, window.connectionId) : undefined,
      );
      const completed = sql`${workflowRuns.status} = 'completed'`;
      const duration = sql`${workflowRuns.durationMs}`;
      const rows = await tx
        .select({
          connectionId: sql<string | null>`${workflowRuns.connectionId}`,
          repositoryFullName: sql<string | null>`max(${repositoryConnections.fullName})`,
          workflowName: sql<string | null>`${workflowRuns.workflowName}`,
          grouping: sql<number>`grouping(${workflowRuns.connectionId}, ${workflowRuns.workflowName})::int`,
          runs: sql<number>`count(*)::int`,
          completed: sql<number>`count(*) filter (where ${completed})::int`,
          success: sql<number>`count(*) filter (where ${completed} and ${workflowRuns.conclusion} = 'success')::int`,
          failure: sql<number>`count(*) filter (where ${completed} and ${workflowRuns.conclusion} in ('failure', 'timed_out', 'startup_failure'))::int`,
          cancelled: sql<number>`count(*) filter (where ${completed} and ${workflowRuns.conclusion} = 'cancelled')::int`,
          p50Ms: sql<
            number | null
          >`percentile_cont(0.5) within group (order by ${duration}) filter (where ${completed})`,
          p95Ms: sql<
            number | null
          >`percentile_cont(0.95) within group (order by ${duration}) filter (where ${completed})`,
        })
        .from(workflowRuns)
        .innerJoin(repositoryConnections, eq(repositoryConnections.id, workflowRuns.connectionId))
        .where(where)
        .groupBy(
          sql`grouping sets ((), (${workflowRuns.connectionId}), (${workflowRuns.connectionId}, ${workflowRuns.workflowName}))`,
        );
      return rows.map((r) => ({
        // grouping(): bit 1 = connection rolled up, bit 0 = workflow rolled up.
        connectionId: (r.grouping & 2) === 2 ? null : r.connectionId,
        repositoryFullName: (r.grouping & 2) === 2 ? null : r.repositoryFullName,
        workflowName: r.grouping === 0 ? (r.workflowName ?? '') : null,
        runs: Number(r.runs),
        completed: Number(r.completed),
        success: Number(r.success),
        failure: Number(r.failure),
        cancelled: Number(r.cancelled),
        p50Ms: r.p50Ms === null ? null : Math.round(Number(r.p50Ms)),
        p95Ms: r.p95Ms === null ? null : Math.round(Number(r.p95Ms)),
      }));
    },

    /** Per connection of a user: runs and failures since `since`, and the latest run time. */
    async countsByConnection(
      userId: string,
      since: Date,
      tx: Db = db,
    ): Promise<
      Array<{ connectionId: string; runs: number; failures: number; lastRunAt: Date | null }>
    > {
      const rows = await tx
        .select({
          connectionId: workflowRuns.connectionId,
          runs: sql<number>`count(*) filter (where ${workflowRuns.githubCreatedAt} >= ${since.toISOString()}::timestamptz)::int`,
          failures: sql<number>`count(*) filter (where ${workflowRuns.githubCreatedAt} >= ${since.toISOString()}::timestamptz and ${workflowRuns.conclusion} in ('failure', 'timed_out', 'startup_failure'))::int`,
          lastRunAt: sql<Date | null>`max(${workflowRuns.githubCreatedAt})`,
        })
        .from(workflowRuns)
        .where(eq(workflowRuns.userId, userId))
        .groupBy(workflowRuns.connectionId);
      return rows.map((r) => ({
        connectionId: r.connectionId,
        runs: Number(r.runs),
        failures: Number(r.failures),
        lastRunAt: r.lastRunAt === null ? null : new Date(r.lastRunAt),
      }));
    },

    /** Distinct values for the runs page's filter menus. */
    async facets(
      userId: string,
      tx: Db = db,
    ): Promise<{ workflows: string[]; branches: string[] }> {
      const workflows = await tx
        .selectDistinct({ v: workflowRuns.workflowName })
        .from(workflowRuns)
        .where(and(eq(workflowRuns.userId, userId), sql`${workflowRuns.workflowName} is not null`))
        .orderBy(workflowRuns.workflowName)
        .limit(200);
      const branches = await tx
        .selectDistinct({ v: workflowRuns.headBranch })
        .from(workflowRuns)
        .where(and(eq(workflowRuns.userId, userId), sql`${workflowRuns.headBranch} is not null`))
        .orderBy(workflowRuns.headBranch)
        .limit(200);
      return {
        workflows: workflows.map((r) => r.v ?? ''),
        branches: branches.map((r) => r.v ?? ''),
      };
    },
  };
}

export type WorkflowRunsStore = ReturnType<typeof createWorkflowRunsStore>;
