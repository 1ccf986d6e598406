// "Is this snapshot further along than that one?" — the same rules the stores' upsert guards
// apply in SQL, used to pick one snapshot per run or job when a batch holds several (a
// single INSERT … ON CONFLICT may not touch a row twice).
import type { JobStep } from '../../db/schema/workflows.ts';
import { STATUS_RANK, type WorkflowRunInput } from '../../db/stores/workflow-runs-store.ts';
import type { JobRow } from './payload-rows.ts';

const rank = (status: string) => STATUS_RANK[status] ?? -1;

function compareTuples(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const time = (d: Date | null | undefined) => (d ? d.getTime() : Number.NEGATIVE_INFINITY);

/** Mirrors RUN_ADVANCES in workflow-runs-store.ts. */
export function runIsAhead(candidate: WorkflowRunInput, current: WorkflowRunInput): boolean {
  const candidateAttempt = candidate.runAttempt ?? 1;
  const currentAttempt = current.runAttempt ?? 1;
  if (candidate.placeholder) {
    return (
      current.placeholder === true &&
      compareTuples(
        [candidateAttempt, rank(candidate.status), time(current.githubCreatedAt)],
        [currentAttempt, rank(current.status), time(candidate.githubCreatedAt)],
      ) > 0
    );
  }
  if (current.placeholder && candidateAttempt >= currentAttempt) return true;
  return (
    compareTuples(
      [candidateAttempt, rank(candidate.status), time(candidate.githubUpdatedAt)],
      [currentAttempt, rank(current.status), time(current.githubUpdatedAt)],
    ) > 0
  );
}

const completedSteps = (steps: JobStep[] | undefined) =>
  (steps ?? []).filter((s) => s.status === 'completed').length;

/** Mirrors JOB_ADVANCES in workflow-jobs-store.ts. */
export function jobIsAhead(candidate: JobRow, current: JobRow): boolean {
  const key = (j: JobRow) => [
    j.runAttempt ?? 1,
    rank(j.status),
    completedSteps(j.steps),
    (j.steps ?? []).length,
  ];
  return compareTuples(key(candidate), key(current)) > 0;
}
