// The identity of a failure: the same repository, workflow, branch and set of failed jobs
// is the same problem, so a further failure adds an occurrence instead of a new incident.
import { createHash } from 'node:crypto';

export interface FingerprintParts {
  /** GitHub's repository id: stable across renames and transfers. */
  repositoryId: number;
  /** GitHub's workflow id, or the workflow's path or name when the id is unknown. */
  workflow: string;
  branch: string | null;
  failedJobs: readonly string[];
}

/** Job names sorted and de-duplicated: the order GitHub reports them in does not matter. */
export function normaliseJobNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function incidentFingerprint(parts: FingerprintParts): string {
  // JSON keeps the parts apart: "a" + "bc" and "ab" + "c" cannot collide.
  const canonical = JSON.stringify([
    parts.repositoryId,
    parts.workflow,
    parts.branch ?? '',
    normaliseJobNames(parts.failedJobs),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The workflow part of a fingerprint for a run. */
export function workflowKey(run: {
  workflowId: number | null;
  workflowPath: string | null;
  workflowName: string | null;
}): string {
  if (run.workflowId !== null) return `id:${run.workflowId}`;
  if (run.workflowPath) return `path:${run.workflowPath}`;
  return `name:${run.workflowName ?? ''}`;
}
