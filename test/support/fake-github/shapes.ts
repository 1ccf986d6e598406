// GitHub-shaped JSON for the fake: users, repositories, hooks, Actions runs and jobs, git
// objects and pull requests, with every field GitHub's description marks as required.
// URLs point back at the fake (never at github.com), so a client that follows `jobs_url`
// or `logs_url` stays on the local machine.
import { createHash } from 'node:crypto';
import type {
  FakeCommit,
  FakeHook,
  FakeRepo,
  FakeUser,
  HookJson,
  JobJson,
  MinimalRepoJson,
  Permission,
  PrivateUserJson,
  PullJson,
  RepoJson,
  RunJson,
  SimpleUserJson,
} from './state.ts';

export interface FakeUrls {
  /** REST base as clients see it (`http://127.0.0.1:PORT`). */
  api: string;
  /** Web base for `html_url`s and the OAuth pages (the same server). */
  web: string;
}

export function nodeId(prefix: string, id: number | string): string {
  return `${prefix}_kgDO${Buffer.from(String(id)).toString('base64url')}`;
}

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** Git's blob id, so `sha` values in contents answers behave like real ones. */
export function blobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
    .digest('hex');
}

export function treeSha(files: Map<string, string>): string {
  const entries = [...files.entries()].sort(([a], [b]) => a.localeCompare(b));
  return sha1(
    `tree\n${entries.map(([path, content]) => `${path} ${blobSha(content)}`).join('\n')}`,
  );
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function simpleUser(user: FakeUser, urls: FakeUrls): SimpleUserJson {
  const api = `${urls.api}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId(user.type === 'User' ? 'U' : 'O', user.id),
    avatar_url: `${urls.web}/_fake/avatars/u/${user.id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.web}/${user.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: user.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

export function privateUser(
  user: FakeUser,
  urls: FakeUrls,
  counts: { publicRepos: number; privateRepos: number },
): PrivateUserJson {
  return {
    ...simpleUser(user, urls),
    user_view_type: 'private',
    name: user.name,
    company: null,
    blog: '',
    location: null,
    email: user.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    notification_email: user.email,
    public_repos: counts.publicRepos,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: user.createdAt,
    updated_at: user.createdAt,
    private_gists: 0,
    total_private_repos: counts.privateRepos,
    owned_private_repos: counts.privateRepos,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
    plan: { name: 'free', space: 976562499, collaborators: 0, private_repos: 10000 },
  };
}

function repoUrls(fullName: string, urls: FakeUrls) {
  const api = `${urls.api}/repos/${fullName}`;
  return {
    url: api,
    html_url: `${urls.web}/${fullName}`,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    hooks_url: `${api}/hooks`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
  };
}

export interface RepoSeed {
  name: string;
  id?: number;
  private?: boolean;
  default_branch?: string;
  description?: string | null;
  fork?: boolean;
  archived?: boolean;
  disabled?: boolean;
  language?: string | null;
  topics?: string[];
  created_at?: string;
  updated_at?: string;
  pushed_at?: string;
  /** Initial files on the default branch (path → UTF-8 content). Default: a README. */
  files?: Record<string, string>;
  /** login → permission, for repositories the user does not own. */
  collaborators?: Record<string, Permission>;
}

export function repoJson(
  seed: RepoSeed & { id: number },
  owner: FakeUser,
  urls: FakeUrls,
  now: string,
): RepoJson {
  const fullName = `${owner.login}/${seed.name}`;
  const isPrivate = seed.private ?? false;
  const repo: RepoJson = {
    id: seed.id,
    node_id: nodeId('R', seed.id),
    name: seed.name,
    full_name: fullName,
    private: isPrivate,
    owner: simpleUser(owner, urls),
    description: seed.description ?? null,
    fork: seed.fork ?? false,
    ...repoUrls(fullName, urls),
    git_url: `${urls.web.replace(/^http/, 'git')}/${fullName}.git`,
    ssh_url: `git@${new URL(urls.web).host}:${fullName}.git`,
    clone_url: `${urls.web}/${fullName}.git`,
    svn_url: `${urls.web}/${fullName}`,
    mirror_url: null,
    homepage: null,
    language: seed.language ?? 'TypeScript',
    size: 108,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    forks_count: 0,
    forks: 0,
    open_issues_count: 0,
    open_issues: 0,
    default_branch: seed.default_branch ?? 'main',
    is_template: false,
    topics: seed.topics ?? [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: seed.archived ?? false,
    disabled: seed.disabled ?? false,
    visibility: isPrivate ? 'private' : 'public',
    license: null,
    allow_forking: true,
    web_commit_signoff_required: false,
    pushed_at: seed.pushed_at ?? now,
    created_at: seed.created_at ?? now,
    updated_at: seed.updated_at ?? now,
    network_count: 0,
    subscribers_count: 1,
    allow_merge_commit: true,
    allow_squash_merge: true,
    allow_rebase_merge: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
  };
  if (owner.type === 'Organization') repo.organization = simpleUser(owner, urls);
  return repo;
}

/** The `permissions` block GitHub adds for the authenticated caller. */
export function permissionsBlock(
  permission: Permission | null,
): NonNullable<RepoJson['permissions']> {
  const rank = { read: 0, triage: 1, write: 2, maintain: 3, admin: 4 }[permission ?? 'read'];
  return {
    admin: rank >= 4,
    maintain: rank >= 3,
    push: rank >= 2,
    triage: rank >= 1,
    pull: permission !== null,
  };
}

/** The smaller repository object embedded in runs and webhook payloads. */
export function minimalRepo(repo: RepoJson, urls: FakeUrls): MinimalRepoJson {
  return {
    id: repo.id,
    node_id: repo.node_id,
    name: repo.name,
    full_name: repo.full_name,
    private: repo.private,
    owner: repo.owner,
    description: repo.description,
    fork: repo.fork,
    ...repoUrls(repo.full_name, urls),
  };
}

export function hookJson(hook: FakeHook, fullName: string, urls: FakeUrls): HookJson {
  const api = `${urls.api}/repos/${fullName}/hooks/${hook.id}`;
  const { secret, ...config } = hook.config;
  return {
    type: 'Repository',
    id: hook.id,
    name: 'web',
    active: hook.active,
    events: [...hook.events],
    // GitHub never returns a hook's secret, only that one is set.
    config: secret === undefined ? { ...config } : { ...config, secret: '********' },
    updated_at: hook.updatedAt,
    created_at: hook.createdAt,
    url: api,
    test_url: `${api}/test`,
    ping_url: `${api}/pings`,
    deliveries_url: `${api}/deliveries`,
    last_response: { ...hook.lastResponse },
  };
}

export interface RunSeed {
  id?: number;
  name?: string;
  /** Workflow file path; runs of the same path share a `workflow_id`. */
  path?: string;
  head_branch?: string;
  head_sha?: string;
  /** Commit message of the head commit; becomes `display_title` for push runs. */
  message?: string;
  display_title?: string;
  event?: string;
  status?: RunJson['status'];
  conclusion?: RunJson['conclusion'];
  run_number?: number;
  run_attempt?: number;
  created_at?: string;
  updated_at?: string;
  run_started_at?: string;
  pull_requests?: RunJson['pull_requests'];
  /** Login of the user who triggered the run (must exist); default: the repository owner. */
  actor?: string;
}

export function runJson(input: {
  seed: RunSeed;
  id: number;
  runNumber: number;
  workflowId: number;
  checkSuiteId: number;
  repo: RepoJson;
  actor: SimpleUserJson;
  headSha: string;
  message: string;
  urls: FakeUrls;
  now: string;
}): RunJson {
  const { seed, id, repo, urls } = input;
  const api = `${urls.api}/repos/${repo.full_name}/actions/runs/${id}`;
  const createdAt = seed.created_at ?? input.now;
  const runAttempt = seed.run_attempt ?? 1;
  const minimal = minimalRepo(repo, urls);
  return {
    id,
    name: seed.name ?? 'CI',
    node_id: nodeId('WFR', id),
    head_branch: seed.head_branch ?? repo.default_branch,
    head_sha: input.headSha,
    path: seed.path ?? '.github/workflows/ci.yml',
    display_title: seed.display_title ?? input.message.split('\n')[0] ?? '',
    run_number: input.runNumber,
    event: seed.event ?? 'push',
    status: seed.status ?? 'queued',
    conclusion: seed.conclusion ?? null,
    workflow_id: input.workflowId,
    check_suite_id: input.checkSuiteId,
    check_suite_node_id: nodeId('CS', input.checkSuiteId),
    url: api,
    html_url: `${urls.web}/${repo.full_name}/actions/runs/${id}`,
    pull_requests: seed.pull_requests ?? [],
    created_at: createdAt,
    updated_at: seed.updated_at ?? createdAt,
    actor: input.actor,
    triggering_actor: input.actor,
    run_attempt: runAttempt,
    referenced_workflows: [],
    run_started_at: seed.run_started_at ?? createdAt,
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    check_suite_url: `${urls.api}/repos/${repo.full_name}/check-suites/${input.checkSuiteId}`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    previous_attempt_url: runAttempt > 1 ? `${api}/attempts/${runAttempt - 1}` : null,
    workflow_url: `${urls.api}/repos/${repo.full_name}/actions/workflows/${input.workflowId}`,
    head_commit: {
      id: input.headSha,
      tree_id: sha1(`tree-of-${input.headSha}`),
      message: input.message,
      timestamp: createdAt,
      author: {
        name: input.actor.login,
        email: `${input.actor.id}+${input.actor.login}@users.noreply.github.com`,
      },
      committer: { name: 'GitHub', email: 'noreply@github.com' },
    },
    repository: minimal,
    head_repository: minimal,
    head_repository_id: repo.id,
  };
}

export interface StepSeed {
  name: string;
  status?: 'queued' | 'in_progress' | 'completed';
  conclusion?: string | null;
}

export interface JobSeed {
  id?: number;
  name?: string;
  status?: JobJson['status'];
  conclusion?: JobJson['conclusion'];
  /** Defaults to the run's current attempt. */
  run_attempt?: number;
  started_at?: string;
  completed_at?: string | null;
  created_at?: string;
  labels?: string[];
  steps?: StepSeed[];
}

export function jobJson(input: {
  seed: JobSeed;
  id: number;
  run: RunJson;
  fullName: string;
  urls: FakeUrls;
}): JobJson {
  const { seed, id, run, urls } = input;
  const status = seed.status ?? 'completed';
  const createdAt = seed.created_at ?? run.created_at;
  const startedAt = seed.started_at ?? createdAt;
  const completedAt =
    seed.completed_at !== undefined ? seed.completed_at : status === 'completed' ? startedAt : null;
  return {
    id,
    run_id: run.id,
    run_url: run.url,
    run_attempt: seed.run_attempt ?? run.run_attempt ?? 1,
    node_id: nodeId('CR', id),
    head_sha: run.head_sha,
    head_branch: run.head_branch,
    url: `${urls.api}/repos/${input.fullName}/actions/jobs/${id}`,
    html_url: `${urls.web}/${input.fullName}/actions/runs/${run.id}/job/${id}`,
    status,
    conclusion:
      seed.conclusion !== undefined ? seed.conclusion : status === 'completed' ? 'success' : null,
    created_at: createdAt,
    started_at: startedAt,
    completed_at: completedAt,
    name: seed.name ?? 'build',
    steps: (seed.steps ?? []).map((step, index) => ({
      name: step.name,
      status: step.status ?? 'completed',
      conclusion:
        step.conclusion !== undefined
          ? step.conclusion
          : (step.status ?? 'completed') === 'completed'
            ? 'success'
            : null,
      number: index + 1,
      started_at: startedAt,
      completed_at: completedAt,
    })),
    check_run_url: `${urls.api}/repos/${input.fullName}/check-runs/${id}`,
    labels: seed.labels ?? ['ubuntu-latest'],
    runner_id: status === 'queued' ? null : 1,
    runner_name: status === 'queued' ? null : 'GitHub Actions 1',
    runner_group_id: status === 'queued' ? null : 2,
    runner_group_name: status === 'queued' ? null : 'GitHub Actions',
    workflow_name: run.name ?? null,
  };
}

export function refJson(fullName: string, ref: string, sha: string, urls: FakeUrls) {
  return {
    ref,
    node_id: nodeId('REF', `${fullName}:${ref}`),
    url: `${urls.api}/repos/${fullName}/git/${ref}`,
    object: { sha, type: 'commit', url: `${urls.api}/repos/${fullName}/git/commits/${sha}` },
  };
}

export function commitJson(fullName: string, commit: FakeCommit, urls: FakeUrls) {
  const person = { ...commit.author };
  return {
    sha: commit.sha,
    node_id: nodeId('C', commit.sha),
    url: `${urls.api}/repos/${fullName}/git/commits/${commit.sha}`,
    html_url: `${urls.web}/${fullName}/commit/${commit.sha}`,
    author: person,
    committer: person,
    message: commit.message,
    tree: { sha: commit.treeSha, url: `${urls.api}/repos/${fullName}/git/trees/${commit.treeSha}` },
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${urls.api}/repos/${fullName}/git/commits/${sha}`,
      html_url: `${urls.web}/${fullName}/commit/${sha}`,
    })),
    verification: {
      verified: false,
      reason: 'unsigned',
      signature: null,
      payload: null,
      verified_at: null,
    },
  };
}

export function contentEntry(
  fullName: string,
  path: string,
  ref: string,
  type: 'file' | 'dir',
  content: string | null,
  urls: FakeUrls,
) {
  const sha = content === null ? sha1(`dir:${path}`) : blobSha(content);
  const apiUrl = `${urls.api}/repos/${fullName}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const gitUrl = `${urls.api}/repos/${fullName}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
  const htmlUrl = `${urls.web}/${fullName}/${type === 'file' ? 'blob' : 'tree'}/${ref}/${path}`;
  return {
    type,
    name: path.split('/').at(-1) ?? path,
    path,
    sha,
    size: content === null ? 0 : Buffer.byteLength(content),
    url: apiUrl,
    html_url: htmlUrl,
    git_url: gitUrl,
    download_url:
      content === null
        ? null
        : `${urls.web}/_fake/raw/${fullName}/${encodeURIComponent(ref)}/${path}`,
    _links: { self: apiUrl, git: gitUrl, html: htmlUrl },
  };
}

/** GitHub wraps base64 content at 60 characters, with a trailing newline. */
export function wrappedBase64(content: string): string {
  const encoded = Buffer.from(content, 'utf8').toString('base64');
  return `${encoded.match(/.{1,60}/g)?.join('\n') ?? ''}\n`;
}

export function pullJson(input: {
  number: number;
  id: number;
  title: string;
  body: string | null;
  draft: boolean;
  maintainerCanModify: boolean;
  user: SimpleUserJson;
  repo: FakeRepo;
  head: { ref: string; sha: string };
  base: { ref: string; sha: string };
  commits: number;
  changedFiles: number;
  urls: FakeUrls;
  now: string;
}): PullJson {
  const { repo, urls, number } = input;
  const fullName = repo.data.full_name;
  const api = `${urls.api}/repos/${fullName}/pulls/${number}`;
  const html = `${urls.web}/${fullName}/pull/${number}`;
  const issue = `${urls.api}/repos/${fullName}/issues/${number}`;
  const owner = repo.data.owner;
  const { temp_clone_token: _tempCloneToken, ...repoFields } = repo.data;
  const repository = { ...repoFields, has_downloads: repo.data.has_downloads ?? true };
  const side = (ref: string, sha: string) => ({
    label: `${owner.login}:${ref}`,
    ref,
    sha,
    user: owner,
    repo: repository,
  });
  return {
    url: api,
    id: input.id,
    node_id: nodeId('PR', input.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${urls.api}/repos/${fullName}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${urls.api}/repos/${fullName}/statuses/${input.head.sha}`,
    number,
    state: 'open',
    locked: false,
    title: input.title,
    user: input.user,
    body: input.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: input.now,
    updated_at: input.now,
    closed_at: null,
    merged_at: null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(input.head.ref, input.head.sha),
    base: side(input.base.ref, input.base.sha),
    _links: {
      self: { href: api },
      html: { href: html },
      issue: { href: issue },
      comments: { href: `${issue}/comments` },
      review_comments: { href: `${api}/comments` },
      review_comment: { href: `${urls.api}/repos/${fullName}/pulls/comments{/number}` },
      commits: { href: `${api}/commits` },
      statuses: { href: `${urls.api}/repos/${fullName}/statuses/${input.head.sha}` },
    },
    author_association: 'OWNER',
    auto_merge: null,
    draft: input.draft,
    merged: false,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: input.maintainerCanModify,
    commits: input.commits,
    additions: 0,
    deletions: 0,
    changed_files: input.changedFiles,
  };
}
