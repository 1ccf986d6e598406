// The fake GitHub's in-memory world: accounts, repositories with a tiny git model, hooks,
// Actions runs and jobs, OAuth codes and tokens, and what the fake observed (deliveries,
// re-runs, counters). Tests read it directly; nothing here talks HTTP.
import type { RestEndpointMethodTypes } from '@octokit/rest';

type Rest = RestEndpointMethodTypes;

/** GitHub's JSON shapes, taken from Octokit's types (generated from the same description). */
export type PrivateUserJson = Extract<
  Rest['users']['getAuthenticated']['response']['data'],
  { private_gists: number }
>;
export type RepoJson = Rest['repos']['get']['response']['data'];
export type HookJson = Rest['repos']['getWebhook']['response']['data'];
export type RunJson = Rest['actions']['getWorkflowRun']['response']['data'];
export type JobJson = Rest['actions']['getJobForWorkflowRun']['response']['data'];
export type PullJson = Rest['pulls']['get']['response']['data'];
export type SimpleUserJson = RepoJson['owner'];
export type MinimalRepoJson = RunJson['repository'];

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export interface FakeUser {
  login: string;
  id: number;
  type: 'User' | 'Organization';
  name: string | null;
  email: string | null;
  /** Organisations only: logins of members, who get admin on the organisation's repositories. */
  members: Set<string>;
  createdAt: string;
}

export interface FakeCommit {
  sha: string;
  treeSha: string;
  message: string;
  parents: string[];
  /** The whole tree, path → UTF-8 content: small repositories only, which is all tests need. */
  files: Map<string, string>;
  author: { name: string; email: string; date: string };
}

export interface FakeHook {
  id: number;
  repoKey: string;
  active: boolean;
  events: string[];
  config: { url: string; content_type: 'json' | 'form'; insecure_ssl: string; secret?: string };
  createdAt: string;
  updatedAt: string;
  lastResponse: { code: number | null; status: string; message: string | null };
}

export interface FakeRepo {
  data: RepoJson;
  /** login (lower case) → permission; the owner (or an organisation member) is admin anyway. */
  collaborators: Map<string, Permission>;
  /** `refs/heads/main` → commit sha. */
  refs: Map<string, string>;
  commits: Map<string, FakeCommit>;
  /** Blob sha → content, for `POST git/blobs` and `POST git/trees`. */
  blobs: Map<string, string>;
  /** Tree sha → path → content, for trees created through the API before their commit. */
  trees: Map<string, Map<string, string>>;
  pulls: Map<number, PullJson>;
  /** Workflow file path → workflow id, so runs of one workflow share `workflow_id`. */
  workflows: Map<string, number>;
  /** Issues and pull requests share one number sequence, as on GitHub. */
  nextNumber: number;
}

export interface FakeRun {
  repoKey: string;
  data: RunJson;
}

export interface FakeJob {
  repoKey: string;
  data: JobJson;
}

export interface FakeCode {
  code: string;
  clientId: string;
  userLogin: string;
  scopes: string[];
  redirectUri: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiring: boolean;
  expiresAt: number;
  used: boolean;
}

export interface FakeAccessToken {
  token: string;
  clientId: string;
  userLogin: string;
  /** One grant per (client, user): revoking it revokes every token issued under it. */
  grantId: string;
  scopes: string[];
  expiresAt: number | null;
  revoked: boolean;
  createdAt: number;
}

export interface FakeRefreshToken {
  token: string;
  clientId: string;
  userLogin: string;
  grantId: string;
  scopes: string[];
  accessToken: string;
  expiresAt: number;
  /** Set once it has been exchanged: GitHub rotates refresh tokens, reuse is refused. */
  used: boolean;
  revoked: boolean;
}

export interface FakeDelivery {
  guid: string;
  hookId: number | null;
  event: string;
  action: string | undefined;
  url: string;
  /** HTTP status the receiver answered, or null when the connection failed. */
  status: number | null;
  error: string | undefined;
  responseBody: string | undefined;
  deliveredAt: number;
}

export interface FakeRerun {
  runId: number;
  failedJobsOnly: boolean;
  enableDebugLogging: boolean;
  at: number;
}

export interface FakeState {
  /** Keyed by lower-case login: GitHub logins are case-insensitive. */
  users: Map<string, FakeUser>;
  /** Keyed by lower-case `owner/name`. */
  repos: Map<string, FakeRepo>;
  hooks: Map<number, FakeHook>;
  runs: Map<number, FakeRun>;
  jobs: Map<number, FakeJob>;
  jobLogs: Map<number, string>;
  codes: Map<string, FakeCode>;
  accessTokens: Map<string, FakeAccessToken>;
  refreshTokens: Map<string, FakeRefreshToken>;
  deliveries: FakeDelivery[];
  reruns: FakeRerun[];
  /** Remaining primary rate limit per token (or per anonymous caller). */
  rateLimitRemaining: Map<string, number>;
}

export interface FakeCounters {
  /** `authorization_code` grants answered with a token. */
  codeGrants: number;
  /** `refresh_token` grants answered with a token (the single-flight refresh check). */
  refreshGrants: number;
  /** Token requests answered with an `error` (still HTTP 200, like GitHub). */
  tokenErrors: number;
  grantRevocations: number;
  tokenRevocations: number;
  hooksCreated: number;
  webhookDeliveries: number;
  reruns: number;
  pullsCreated: number;
}

export function createState(): FakeState {
  return {
    users: new Map(),
    repos: new Map(),
    hooks: new Map(),
    runs: new Map(),
    jobs: new Map(),
    jobLogs: new Map(),
    codes: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
    deliveries: [],
    reruns: [],
    rateLimitRemaining: new Map(),
  };
}

export function createCounters(): FakeCounters {
  return {
    codeGrants: 0,
    refreshGrants: 0,
    tokenErrors: 0,
    grantRevocations: 0,
    tokenRevocations: 0,
    hooksCreated: 0,
    webhookDeliveries: 0,
    reruns: 0,
    pullsCreated: 0,
  };
}

/** The effective permission of a user on a repository, or null when they cannot see it. */
export function permissionOf(
  state: FakeState,
  repo: FakeRepo,
  login: string | null,
): Permission | null {
  const key = login?.toLowerCase();
  if (key !== undefined) {
    const ownerKey = repo.data.owner.login.toLowerCase();
    if (ownerKey === key) return 'admin';
    const owner = state.users.get(ownerKey);
    if (owner?.type === 'Organization' && owner.members.has(key)) return 'admin';
    const collaborator = repo.collaborators.get(key);
    if (collaborator) return collaborator;
  }
  return repo.data.private ? null : 'read';
}

const RANK: Record<Permission, number> = { read: 0, triage: 1, write: 2, maintain: 3, admin: 4 };

export function permits(granted: Permission | null, needed: Permission): boolean {
  return granted !== null && RANK[granted] >= RANK[needed];
}
