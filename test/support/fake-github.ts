// A local HTTP fake of GitHub for Flowfix's tests: OAuth web flow, the REST endpoints
// Flowfix calls (every request checked against GitHub's OpenAPI description), webhook
// deliveries signed like GitHub's, and Actions logs behind redirects to a separate
// "blob storage" origin. Tests start it on 127.0.0.1 port 0; nothing reaches the internet.
//
//   const fake = await startFakeGitHub({ callbackUrl: 'http://127.0.0.1/callback' });
//   t.teardown(() => fake.close());
//   fake.addUser({ login: 'octocat' });
//   fake.addRepo('octocat', { name: 'hello', private: true });
//   const { accessToken } = fake.issueToken('octocat');
//   ... point the app at fake.apiUrl / fake.webUrl ...
//   t.same(fake.violations, []);
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { actionsRoutes, serveBlob } from './fake-github/routes-actions.ts';
import { gitRoutes } from './fake-github/routes-git.ts';
import { repoRoutes } from './fake-github/routes-repos.ts';
import { pullRequestEvent, workflowJobEvent, workflowRunEvent } from './fake-github/events.ts';
import type { WorkflowJobAction, WorkflowRunAction } from './fake-github/events.ts';
import { FaultInjector } from './fake-github/faults.ts';
import type { FailureOptions, RateLimitOptions } from './fake-github/faults.ts';
import { createCommit, resolveRef } from './fake-github/git.ts';
import { checkRequest } from './fake-github/openapi.ts';
import type { OAuthSettings, WebReply } from './fake-github/oauth.ts';
import {
  authenticate,
  deleteGrant,
  deleteToken,
  grantTokens,
  handleAccessToken,
  handleAuthorize,
  issueCode,
} from './fake-github/oauth.ts';
import type { FakeCore, RestContext, RestHandler, RestReply } from './fake-github/rest.ts';
import { ApiError, DOCS } from './fake-github/rest.ts';
import type { FakeUrls, JobSeed, RepoSeed, RunSeed } from './fake-github/shapes.ts';
import { isoSeconds, jobJson, repoJson, runJson, sha1, simpleUser } from './fake-github/shapes.ts';
import type {
  FakeCounters,
  FakeDelivery,
  FakeHook,
  FakeRepo,
  FakeState,
  FakeUser,
  JobJson,
  Permission,
  RunJson,
} from './fake-github/state.ts';
import { createCounters, createState } from './fake-github/state.ts';
import { sendWebhook } from './webhook-sender.ts';

export type * from './fake-github/state.ts';
export type { JobSeed, RepoSeed, RunSeed, StepSeed } from './fake-github/shapes.ts';
export type { OAuthSettings } from './fake-github/oauth.ts';
export type { FailureOptions, RateLimitOptions } from './fake-github/faults.ts';

export interface FakeGitHubOptions {
  clientId?: string;
  clientSecret?: string;
  /** Registered callback URL(s). Omit to accept any redirect_uri. */
  callbackUrl?: string | string[];
  /** GitHub App user tokens that expire (ghu_/ghr_, the default) or classic gho_ tokens. */
  expiringTokens?: boolean;
  /** Skip the consent page: the authorize URL redirects straight back with a code. */
  autoApprove?: boolean;
  /** Login of the user "signed in to GitHub" in the browser (must be added with addUser). */
  signedInUser?: string;
  /** GitHub pings every new hook; turn off when a test wants no unsolicited delivery. */
  pingOnHookCreate?: boolean;
  /** Clock in epoch milliseconds; `advanceTime()` adds to it. */
  now?: () => number;
}

export interface RecordedRequest {
  /** `github` for the API/web server, `blobs` for the log storage origin. */
  server: 'github' | 'blobs';
  method: string;
  /** Path and query exactly as received. */
  url: string;
  pathname: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON or form body when there was one, else the raw text (or undefined). */
  body: unknown;
  rawBody: string;
  /** The description's route (`GET /repos/{owner}/{repo}`) for REST calls. */
  route: string | undefined;
  status: number | undefined;
}

export interface Violation {
  method: string;
  url: string;
  route: string | undefined;
  problems: string[];
}

export interface UserSeed {
  login: string;
  id?: number;
  name?: string | null;
  email?: string | null;
  type?: 'User' | 'Organization';
  /** Organisations: member logins (members are admins of the organisation's repositories). */
  members?: string[];
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  expiresIn: number | undefined;
}

const ID_START = {
  user: 1_000_000,
  repo: 500_000_000,
  hook: 400_000_000,
  // Run and job ids on GitHub are beyond 32 bits; the fake's are too, so int columns fail.
  run: 10_000_000_000,
  job: 30_000_000_000,
  checkSuite: 20_000_000_000,
  workflow: 90_000_000,
  pull: 1_500_000_000,
} as const;

const MAX_BODY_BYTES = 30 * 1024 * 1024;
const BLOB_URL_TTL_MS = 60_000;
const USER_AGENT_REQUIRED =
  'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.';
/** A 1×1 transparent PNG, for avatar URLs pages may render. */
const AVATAR_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('fake-github: request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseLoose(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return text;
}

/** OAuth endpoints take parameters from the query string, a form body or a JSON body. */
function oauthParams(url: URL, raw: Buffer, contentType: string | undefined): URLSearchParams {
  const params = new URLSearchParams(url.searchParams);
  const body = parseLoose(raw, contentType);
  if (body !== null && typeof body === 'object') {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (value !== undefined && value !== null) params.set(name, String(value));
    }
  }
  return params;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

class FakeGitHubServer implements FakeCore {
  readonly state: FakeState = createState();
  readonly counters: FakeCounters = createCounters();
  readonly requests: RecordedRequest[] = [];
  /** Requests that do not match GitHub's OpenAPI description; tests assert it stays empty. */
  readonly violations: Violation[] = [];
  /** Described by GitHub but not implemented by the fake (answered 501). */
  readonly unimplemented: string[] = [];
  readonly oauth: OAuthSettings;
  readonly pingOnHookCreate: boolean;
  url = '';
  apiUrl = '';
  /** The same REST API under GitHub Enterprise Server's `/api/v3` prefix. */
  gheApiUrl = '';
  webUrl = '';
  blobUrl = '';
  urls: FakeUrls = { api: '', web: '' };

  private readonly clock: () => number;
  private timeOffset = 0;
  private readonly ids = new Map<string, number>();
  private readonly faults = new FaultInjector(() => this.now());
  private readonly pending = new Set<Promise<unknown>>();
  private readonly blobKey = randomBytes(32);
  private readonly routes: Record<string, RestHandler>;
  private readonly server: Server;
  private readonly blobServer: Server;

  constructor(options: FakeGitHubOptions) {
    this.clock = options.now ?? Date.now;
    this.pingOnHookCreate = options.pingOnHookCreate ?? true;
    const callbacks = options.callbackUrl;
    this.oauth = {
      clientId: options.clientId ?? 'Iv23liFakeFlowfix01',
      clientSecret: options.clientSecret ?? 'fake-client-secret-0123456789abcdef01234567',
      callbackUrls:
        callbacks === undefined ? null : Array.isArray(callbacks) ? callbacks : [callbacks],
      expiringTokens: options.expiringTokens ?? true,
      autoApprove: options.autoApprove ?? false,
      signedInLogin: options.signedInUser ?? null,
    };
    this.routes = {
      ...repoRoutes,
      ...actionsRoutes,
      ...gitRoutes,
      'DELETE /applications/{client_id}/grant': (ctx) => deleteGrant(ctx, this.oauth),
      'DELETE /applications/{client_id}/token': (ctx) => deleteToken(ctx, this.oauth),
    };
    this.server = createServer((req, res) => void this.handle(req, res));
    this.blobServer = createServer((req, res) => void this.handleBlob(req, res));
  }

  get clientId(): string {
    return this.oauth.clientId;
  }

  get clientSecret(): string {
    return this.oauth.clientSecret;
  }

  async listen(): Promise<void> {
    const listen = (server: Server) =>
      new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          resolve(`http://127.0.0.1:${port}`);
        });
      });
    this.url = await listen(this.server);
    this.blobUrl = await listen(this.blobServer);
    this.apiUrl = this.url;
    this.gheApiUrl = `${this.url}/api/v3`;
    this.webUrl = this.url;
    this.urls = { api: this.url, web: this.url };
  }

  async close(): Promise<void> {
    await this.settled();
    await Promise.all(
      [this.server, this.blobServer].map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Octokit's fetch keeps connections alive; without this close() would wait for them.
            server.closeAllConnections();
          }),
      ),
    );
  }

  // -------------------------------------------------------------------------------------
  // FakeCore

  now(): number {
    return this.clock() + this.timeOffset;
  }

  /** Moves the fake's clock forward (codes, tokens and log URLs expire by it). */
  advanceTime(ms: number): void {
    this.timeOffset += ms;
  }

  nextId(kind: keyof typeof ID_START): number {
    const next = (this.ids.get(kind) ?? ID_START[kind]) + 1;
    this.ids.set(kind, next);
    return next;
  }

  signedBlobUrl(path: string): string {
    const expires = this.now() + BLOB_URL_TTL_MS;
    const sig = createHmac('sha256', this.blobKey).update(`${path}\n${expires}`).digest('hex');
    return `${this.blobUrl}${path}?se=${expires}&sig=${sig}`;
  }

  background(work: () => Promise<unknown>): void {
    // Deferred so the HTTP answer that caused it (hook created, ping requested) goes first.
    const promise = new Promise((resolve) => setImmediate(resolve))
      .then(work)
      .catch(() => undefined)
      .finally(() => this.pending.delete(promise));
    this.pending.add(promise);
  }

  /** Resolves once every asynchronous delivery the fake started has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async deliverToHook(
    hook: FakeHook,
    event: string,
    payload: Record<string, unknown>,
  ): Promise<FakeDelivery> {
    const repo = this.state.repos.get(hook.repoKey);
    const guid = randomUUID();
    const action = typeof payload['action'] === 'string' ? payload['action'] : undefined;
    const delivery: FakeDelivery = {
      guid,
      hookId: hook.id,
      event,
      action,
      url: hook.config.url,
      status: null,
      error: undefined,
      responseBody: undefined,
      deliveredAt: this.now(),
    };
    this.state.deliveries.push(delivery);
    this.counters.webhookDeliveries += 1;
    try {
      const response = await sendWebhook({
        url: hook.config.url,
        ...(hook.config.secret === undefined ? {} : { secret: hook.config.secret }),
        event,
        payload,
        deliveryId: guid,
        hookId: hook.id,
        target: { type: 'repository', id: repo?.data.id ?? 0 },
        encoding: hook.config.content_type,
      });
      delivery.status = response.status;
      delivery.responseBody = response.body;
      hook.lastResponse = {
        code: response.status,
        status: 'active',
        message: STATUS_CODES[response.status] ?? null,
      };
    } catch (error) {
      delivery.error =
        error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
      hook.lastResponse = { code: null, status: 'failed', message: delivery.error };
    }
    return delivery;
  }

  // -------------------------------------------------------------------------------------
  // Seeding

  addUser(seed: UserSeed): FakeUser {
    const key = seed.login.toLowerCase();
    if (this.state.users.has(key))
      throw new Error(`fake-github: user ${seed.login} already exists`);
    const user: FakeUser = {
      login: seed.login,
      id: seed.id ?? this.nextId('user'),
      type: seed.type ?? 'User',
      name: seed.name ?? null,
      email: seed.email ?? null,
      members: new Set((seed.members ?? []).map((m) => m.toLowerCase())),
      createdAt: isoSeconds(this.now() - 365 * 24 * 3600 * 1000),
    };
    this.state.users.set(key, user);
    return user;
  }

  addOrg(login: string, seed: Omit<UserSeed, 'login' | 'type'> = {}): FakeUser {
    return this.addUser({ ...seed, login, type: 'Organization' });
  }

  addRepo(ownerLogin: string, seed: RepoSeed): FakeRepo {
    const owner = this.state.users.get(ownerLogin.toLowerCase());
    if (!owner)
      throw new Error(`fake-github: no account "${ownerLogin}"; call addUser() or addOrg() first`);
    const key = `${owner.login}/${seed.name}`.toLowerCase();
    if (this.state.repos.has(key)) throw new Error(`fake-github: repository ${key} already exists`);
    const data = repoJson(
      { ...seed, id: seed.id ?? this.nextId('repo') },
      owner,
      this.urls,
      isoSeconds(this.now()),
    );
    const repo: FakeRepo = {
      data,
      collaborators: new Map(
        Object.entries(seed.collaborators ?? {}).map(([login, permission]) => [
          login.toLowerCase(),
          permission,
        ]),
      ),
      refs: new Map(),
      commits: new Map(),
      blobs: new Map(),
      trees: new Map(),
      pulls: new Map(),
      nextNumber: 1,
      workflows: new Map(),
    };
    const files = new Map(Object.entries(seed.files ?? { 'README.md': `# ${seed.name}\n` }));
    const initial = createCommit(repo, {
      message: 'Initial commit',
      parents: [],
      files,
      author: {
        name: owner.name ?? owner.login,
        email: owner.email ?? 'noreply@github.com',
        date: data.created_at ?? isoSeconds(this.now()),
      },
    });
    repo.refs.set(`refs/heads/${data.default_branch}`, initial.sha);
    this.state.repos.set(key, repo);
    return repo;
  }

  addCollaborator(repoFullName: string, login: string, permission: Permission = 'write'): void {
    this.repo(repoFullName).collaborators.set(login.toLowerCase(), permission);
  }

  /** Returns the stored run: change its fields directly to move it along (status, conclusion…). */
  addRun(repoFullName: string, seed: RunSeed = {}): RunJson {
    const repo = this.repo(repoFullName);
    const branch = seed.head_branch ?? repo.data.default_branch;
    const branchSha = repo.refs.get(`refs/heads/${branch}`);
    const headSha =
      seed.head_sha ?? branchSha ?? sha1(`${repoFullName}:${branch}:${this.now()}:${randomUUID()}`);
    const message = seed.message ?? repo.commits.get(headSha)?.message ?? 'Update code';
    const path = seed.path ?? '.github/workflows/ci.yml';
    let workflowId = repo.workflows.get(path);
    if (workflowId === undefined) {
      workflowId = this.nextId('workflow');
      repo.workflows.set(path, workflowId);
    }
    const repoKey = repo.data.full_name.toLowerCase();
    const sameWorkflow = [...this.state.runs.values()].filter(
      (r) => r.repoKey === repoKey && r.data.workflow_id === workflowId,
    );
    const actorUser = seed.actor === undefined ? this.ownerOf(repo) : this.user(seed.actor);
    const id = seed.id ?? this.nextId('run');
    if (this.state.runs.has(id)) throw new Error(`fake-github: run ${id} already exists`);
    const data = runJson({
      seed: { ...seed, head_branch: branch },
      id,
      runNumber: seed.run_number ?? sameWorkflow.length + 1,
      workflowId,
      checkSuiteId: this.nextId('checkSuite'),
      repo: repo.data,
      actor: simpleUser(actorUser, this.urls),
      headSha,
      message,
      urls: this.urls,
      now: isoSeconds(this.now()),
    });
    this.state.runs.set(id, { repoKey, data });
    return data;
  }

  /** Adds a job to a run (attempt defaults to the run's current one); `log` sets its log. */
  addJob(runId: number, seed: JobSeed & { log?: string } = {}): JobJson {
    const run = this.state.runs.get(runId);
    if (!run) throw new Error(`fake-github: no run ${runId}; call addRun() first`);
    const repo = this.repo(run.repoKey);
    const id = seed.id ?? this.nextId('job');
    if (this.state.jobs.has(id)) throw new Error(`fake-github: job ${id} already exists`);
    const data = jobJson({
      seed,
      id,
      run: run.data,
      fullName: repo.data.full_name,
      urls: this.urls,
    });
    this.state.jobs.set(id, { repoKey: run.repoKey, data });
    if (seed.log !== undefined) this.state.jobLogs.set(id, seed.log);
    return data;
  }

  setJobLog(jobId: number, text: string): void {
    if (!this.state.jobs.has(jobId)) throw new Error(`fake-github: no job ${jobId}`);
    this.state.jobLogs.set(jobId, text);
  }

  /** The repository's hooks as stored, secrets included (for signing test deliveries). */
  hooksOf(repoFullName: string): FakeHook[] {
    const key = this.repo(repoFullName).data.full_name.toLowerCase();
    return [...this.state.hooks.values()].filter((hook) => hook.repoKey === key);
  }

  // -------------------------------------------------------------------------------------
  // OAuth helpers

  /** A code as if `userLogin` had approved the authorize page (PKCE challenge optional). */
  issueCode(
    userLogin: string,
    options: {
      expiring?: boolean;
      scopes?: string[];
      redirectUri?: string;
      codeChallenge?: string;
    } = {},
  ): string {
    return issueCode(this, this.oauth, { userLogin, ...options });
  }

  /** Tokens for a user without going through the web flow (for tests that need a connection). */
  issueToken(
    userLogin: string,
    options: { expiring?: boolean; scopes?: string[] } = {},
  ): IssuedTokens {
    const user = this.user(userLogin);
    const answer = grantTokens(this, this.oauth, {
      userLogin: user.login,
      scopes: options.scopes ?? [],
      expiring: options.expiring ?? this.oauth.expiringTokens,
    });
    return {
      accessToken: String(answer['access_token']),
      refreshToken:
        typeof answer['refresh_token'] === 'string' ? answer['refresh_token'] : undefined,
      expiresIn: typeof answer['expires_in'] === 'number' ? answer['expires_in'] : undefined,
    };
  }

  expireAccessToken(token: string): void {
    const record = this.state.accessTokens.get(token);
    if (!record) throw new Error('fake-github: unknown access token');
    record.expiresAt = this.now() - 1;
  }

  expireRefreshToken(token: string): void {
    const record = this.state.refreshTokens.get(token);
    if (!record) throw new Error('fake-github: unknown refresh token');
    record.expiresAt = this.now() - 1;
  }

  /** Revokes a token as if the user removed the app in their GitHub settings. */
  revokeAccessToken(token: string): void {
    const record = this.state.accessTokens.get(token);
    if (!record) throw new Error('fake-github: unknown access token');
    record.revoked = true;
  }

  // -------------------------------------------------------------------------------------
  // Fault injection

  /**
   * The next matching request(s) fail with `status`. `pathPattern` is a path (`/user`),
   * a template (`/repos/{owner}/{repo}/hooks`), may use `*`, or is a RegExp; `method` may be
   * `*`. 403 and 429 come with primary rate-limit headers unless `headers` says otherwise.
   * Applies to the OAuth endpoints too (e.g. a 502 from `/login/oauth/access_token`).
   */
  failNext(
    method: string,
    pathPattern: string | RegExp,
    status: number,
    body?: unknown,
    options: FailureOptions = {},
  ): void {
    this.faults.failNext(method, pathPattern, status, body, options);
  }

  /** A primary (x-ratelimit-remaining: 0) or secondary (retry-after) rate limit on the next call. */
  rateLimitNext(
    method: string,
    pathPattern: string | RegExp,
    options: RateLimitOptions = {},
  ): void {
    this.faults.rateLimitNext(method, pathPattern, options);
  }

  // -------------------------------------------------------------------------------------
  // Webhook events built from the fake's own state

  /** Sends an event to every active hook of the repository subscribed to it (or to `*`). */
  async deliverEvent(
    repoFullName: string,
    event: string,
    payload: Record<string, unknown>,
  ): Promise<FakeDelivery[]> {
    const hooks = this.hooksOf(repoFullName).filter(
      (hook) => hook.active && (hook.events.includes(event) || hook.events.includes('*')),
    );
    return Promise.all(hooks.map((hook) => this.deliverToHook(hook, event, payload)));
  }

  /** A `workflow_run` payload for a stored run, shaped like GitHub's (a snapshot). */
  workflowRunEvent(runId: number, action?: WorkflowRunAction): Record<string, unknown> {
    return workflowRunEvent(this.state, this.urls, runId, action);
  }

  /** A `workflow_job` payload for a stored job (a snapshot). */
  workflowJobEvent(jobId: number, action?: WorkflowJobAction): Record<string, unknown> {
    return workflowJobEvent(this.state, jobId, action);
  }

  /** A `pull_request` payload for a stored pull request (a snapshot). */
  pullRequestEvent(
    repoFullName: string,
    number: number,
    action = 'opened',
  ): Record<string, unknown> {
    return pullRequestEvent(this.state, repoFullName, number, action);
  }

  // -------------------------------------------------------------------------------------
  // HTTP

  private repo(fullName: string): FakeRepo {
    const repo = this.state.repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`fake-github: no repository ${fullName}; call addRepo() first`);
    return repo;
  }

  private user(login: string): FakeUser {
    const user = this.state.users.get(login.toLowerCase());
    if (!user) throw new Error(`fake-github: no user ${login}; call addUser() first`);
    return user;
  }

  private ownerOf(repo: FakeRepo): FakeUser {
    return this.user(repo.data.owner.login);
  }

  private record(
    server: RecordedRequest['server'],
    req: IncomingMessage,
    url: URL,
    raw: Buffer,
  ): RecordedRequest {
    const contentType = header(req, 'content-type');
    const entry: RecordedRequest = {
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      pathname: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: parseLoose(raw, contentType),
      rawBody: raw.toString('utf8'),
      route: undefined,
      status: undefined,
    };
    this.requests.push(entry);
    return entry;
  }

  private send(
    res: ServerResponse,
    entry: RecordedRequest,
    reply: { status: number; headers?: Record<string, string>; body?: unknown },
  ): void {
    entry.status = reply.status;
    const headers: Record<string, string> = { ...reply.headers };
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(reply.body)) payload = reply.body;
    else if (typeof reply.body === 'string') payload = Buffer.from(reply.body, 'utf8');
    else if (reply.body !== undefined) {
      payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    if (payload) headers['content-length'] = String(payload.length);
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      res.writeHead(413).end();
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const entry = this.record('github', req, url, raw);
    try {
      this.send(res, entry, await this.dispatch(req, url, raw, entry));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.send(res, entry, {
        status: 500,
        body: { message: `fake-github internal error: ${message}` },
      });
    }
  }

  private async dispatch(
    req: IncomingMessage,
    url: URL,
    raw: Buffer,
    entry: RecordedRequest,
  ): Promise<RestReply | WebReply> {
    const method = req.method ?? 'GET';
    const contentType = header(req, 'content-type');
    if (url.pathname.startsWith('/_fake/avatars/')) {
      return { status: 200, headers: { 'content-type': 'image/png' }, body: AVATAR_PNG };
    }
    if (url.pathname.startsWith('/_fake/raw/')) return this.rawFile(url.pathname);
    if (url.pathname.startsWith('/_fake/') || url.pathname === '/favicon.ico') {
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
    }
    const isGhe = url.pathname === '/api/v3' || url.pathname.startsWith('/api/v3/');
    const pathname = isGhe ? url.pathname.slice('/api/v3'.length) || '/' : url.pathname;
    const failure = this.faults.take(method, pathname);
    if (failure) return { status: failure.status, headers: failure.headers, body: failure.body };

    // The web flow lives at the root on GHES too; only the API moves under /api/v3.
    if (
      !isGhe &&
      pathname === '/login/oauth/authorize' &&
      (method === 'GET' || method === 'POST')
    ) {
      return handleAuthorize(
        this,
        this.oauth,
        method,
        method === 'GET' ? url.searchParams : oauthParams(url, raw, contentType),
      );
    }
    if (!isGhe && pathname === '/login/oauth/access_token' && method === 'POST') {
      return handleAccessToken(
        this,
        this.oauth,
        oauthParams(url, raw, contentType),
        header(req, 'accept'),
      );
    }
    if (!isGhe && pathname.startsWith('/login/')) {
      // Web pages, not the API: no OpenAPI check, just GitHub's 404.
      return {
        status: 404,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<h1>404</h1>',
      };
    }
    return this.dispatchRest(req, method, pathname, url, raw, entry, isGhe);
  }

  private async dispatchRest(
    req: IncomingMessage,
    method: string,
    pathname: string,
    url: URL,
    raw: Buffer,
    entry: RecordedRequest,
    isGhe: boolean,
  ): Promise<RestReply> {
    if (!header(req, 'user-agent')) {
      return { status: 403, headers: { 'content-type': 'text/plain' }, body: USER_AGENT_REQUIRED };
    }
    const checked = checkRequest({
      method,
      pathname,
      query: url.searchParams,
      contentType: header(req, 'content-type'),
      rawBody: raw,
    });
    const route = checked.match ? `${method} ${checked.match.template}` : undefined;
    entry.route = route;
    if (!checked.ok) {
      this.violations.push({ method, url: entry.url, route, problems: checked.problems });
      return {
        status: 400,
        body: {
          message: `fake-github: request does not match GitHub's OpenAPI description: ${checked.problems.join('; ')}`,
          documentation_url: DOCS,
        },
      };
    }
    const handler = route === undefined ? undefined : this.routes[route];
    if (route === undefined || !handler) {
      this.unimplemented.push(route ?? `${method} ${pathname}`);
      return {
        status: 501,
        body: {
          message: `fake-github: ${route ?? pathname} is valid for GitHub but not implemented by the fake`,
        },
      };
    }
    const caller = authenticate(this, header(req, 'authorization'));
    const rateHeaders = this.rateLimitHeaders(
      caller === 'bad' || caller === null
        ? `anon:${req.socket.remoteAddress ?? ''}`
        : caller.token.token,
      caller !== null && caller !== 'bad',
    );
    const common: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...rateHeaders,
    };
    if (caller === 'bad') {
      return {
        status: 401,
        headers: common,
        body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' },
      };
    }
    if (caller?.token.token.startsWith('gho_'))
      common['x-oauth-scopes'] = caller.token.scopes.join(', ');
    const ctx: RestContext = {
      core: this,
      method,
      route,
      params: checked.match.params,
      query: url.searchParams,
      body: checked.body,
      headers: req.headers,
      caller,
      selfUrl: `${this.url}${isGhe ? '/api/v3' : ''}${url.pathname.slice(isGhe ? '/api/v3'.length : 0)}`,
    };
    try {
      const reply = await handler(ctx);
      return { ...reply, headers: { ...common, ...reply.headers } };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return {
        status: error.status,
        headers: { ...common, ...error.headers },
        body: error.toBody(),
      };
    }
  }

  /** `download_url` of contents: `/_fake/raw/{owner}/{repo}/{ref}/{path}` (ref percent-encoded). */
  private rawFile(pathname: string): WebReply {
    const [owner, name, ref, ...path] = pathname
      .slice('/_fake/raw/'.length)
      .split('/')
      .map(decodeURIComponent);
    const repo = this.state.repos.get(`${owner}/${name}`.toLowerCase());
    const sha = repo && ref !== undefined ? resolveRef(repo, ref) : undefined;
    const content =
      sha === undefined ? undefined : repo?.commits.get(sha)?.files.get(path.join('/'));
    if (content === undefined)
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: '404: Not Found' };
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: content };
  }

  private rateLimitHeaders(key: string, authenticated: boolean): Record<string, string> {
    const limit = authenticated ? 5000 : 60;
    const remaining = Math.max((this.state.rateLimitRemaining.get(key) ?? limit) - 1, 0);
    this.state.rateLimitRemaining.set(key, remaining);
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(limit - remaining),
      'x-ratelimit-reset': String(Math.ceil(this.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    };
  }

  private async handleBlob(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req).catch(() => Buffer.alloc(0));
    const url = new URL(req.url ?? '/', this.blobUrl);
    const entry = this.record('blobs', req, url, raw);
    const expires = Number(url.searchParams.get('se'));
    const expected = createHmac('sha256', this.blobKey)
      .update(`${url.pathname}\n${expires}`)
      .digest('hex');
    if (url.searchParams.get('sig') !== expected || !(expires > this.now())) {
      // Storage answers an expired or tampered signed URL with 403, not a GitHub error.
      this.send(res, entry, {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>',
      });
      return;
    }
    this.send(res, entry, serveBlob(this, url.pathname));
  }
}

export type FakeGitHub = FakeGitHubServer;

/** Starts a fake GitHub on 127.0.0.1 (random port). Always `await fake.close()` in teardown. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = new FakeGitHubServer(options);
  await fake.listen();
  return fake;
}
