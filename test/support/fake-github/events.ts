// Webhook payloads built from the fake's own state (`workflow_run`, `workflow_job`,
// `pull_request`), so the run a test delivers is the very run the REST API returns.
// Each is a deep copy: later changes to the state do not rewrite a payload already sent.
import type { FakeUrls } from './shapes.ts';
import type { FakeRepo, FakeState, PullJson } from './state.ts';

export type WorkflowRunAction = 'requested' | 'in_progress' | 'completed';
export type WorkflowJobAction = 'queued' | 'waiting' | 'in_progress' | 'completed';

function repoByKey(state: FakeState, key: string): FakeRepo {
  const repo = state.repos.get(key.toLowerCase());
  if (!repo) throw new Error(`fake-github: no repository ${key}`);
  return repo;
}

export function workflowRunEvent(
  state: FakeState,
  urls: FakeUrls,
  runId: number,
  action?: WorkflowRunAction,
): Record<string, unknown> {
  const run = state.runs.get(runId);
  if (!run) throw new Error(`fake-github: no run ${runId}`);
  const repo = repoByKey(state, run.repoKey);
  const data = run.data;
  const fullName = repo.data.full_name;
  return structuredClone({
    action:
      action ??
      (data.status === 'completed'
        ? 'completed'
        : data.status === 'in_progress'
          ? 'in_progress'
          : 'requested'),
    workflow_run: data,
    workflow: {
      id: data.workflow_id,
      node_id: `W_kgDO${data.workflow_id}`,
      name: data.name,
      path: data.path,
      state: 'active',
      created_at: repo.data.created_at,
      updated_at: repo.data.updated_at,
      url: data.workflow_url,
      html_url: `${urls.web}/${fullName}/blob/${repo.data.default_branch}/${data.path}`,
      badge_url: `${urls.web}/${fullName}/workflows/${encodeURIComponent(data.name ?? 'CI')}/badge.svg`,
    },
    repository: repo.data,
    ...(repo.data.organization ? { organization: repo.data.organization } : {}),
    sender: data.actor ?? repo.data.owner,
  });
}

export function workflowJobEvent(
  state: FakeState,
  jobId: number,
  action?: WorkflowJobAction,
): Record<string, unknown> {
  const job = state.jobs.get(jobId);
  if (!job) throw new Error(`fake-github: no job ${jobId}`);
  const repo = repoByKey(state, job.repoKey);
  const run = state.runs.get(job.data.run_id)?.data;
  const status = job.data.status;
  return structuredClone({
    action:
      action ??
      (status === 'completed' || status === 'in_progress' || status === 'waiting'
        ? status
        : 'queued'),
    workflow_job: job.data,
    repository: repo.data,
    ...(repo.data.organization ? { organization: repo.data.organization } : {}),
    sender: run?.actor ?? repo.data.owner,
  });
}

export function pullRequestEvent(
  state: FakeState,
  repoFullName: string,
  number: number,
  action: string,
): Record<string, unknown> {
  const repo = repoByKey(state, repoFullName);
  const pull: PullJson | undefined = repo.pulls.get(number);
  if (!pull) throw new Error(`fake-github: no pull request #${number} in ${repoFullName}`);
  return structuredClone({
    action,
    number,
    pull_request: pull,
    repository: repo.data,
    sender: pull.user,
  });
}
