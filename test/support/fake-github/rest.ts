// How the fake answers REST calls: the context a handler gets, GitHub's error bodies,
// repository access (including GitHub's habit of answering 404 rather than 403 so as not to
// confirm that a private repository exists) and page/per_page pagination with a Link header.
import type { FakeUrls } from './shapes.ts';
import type {
  FakeAccessToken,
  FakeCounters,
  FakeDelivery,
  FakeHook,
  FakeRepo,
  FakeState,
  FakeUser,
  Permission,
} from './state.ts';
import { permissionOf, permits } from './state.ts';

export const DOCS = 'https://docs.github.com/rest';

/** What route handlers may use of the running fake. */
export interface FakeCore {
  readonly state: FakeState;
  readonly counters: FakeCounters;
  readonly urls: FakeUrls;
  now(): number;
  nextId(
    kind: 'user' | 'repo' | 'hook' | 'run' | 'job' | 'checkSuite' | 'workflow' | 'pull',
  ): number;
  /** A short-lived URL on the fake's separate "blob storage" origin. */
  signedBlobUrl(path: string): string;
  /** Sends an event to one hook, the way GitHub does, and records the delivery. */
  deliverToHook(
    hook: FakeHook,
    event: string,
    payload: Record<string, unknown>,
  ): Promise<FakeDelivery>;
  /** Runs work after the response, like GitHub's asynchronous deliveries; tracked for `settled()`. */
  background(work: () => Promise<unknown>): void;
  readonly pingOnHookCreate: boolean;
}

export type Caller = { token: FakeAccessToken; user: FakeUser } | null;

export interface RestContext {
  core: FakeCore;
  method: string;
  /** The description's route, e.g. `GET /repos/{owner}/{repo}/hooks`. */
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  caller: Caller;
  /** Absolute URL of this endpoint as the client called it (with any `/api/v3`), for Link. */
  selfUrl: string;
}

export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RestHandler = (ctx: RestContext) => RestReply | Promise<RestReply>;

export interface ValidationError {
  resource: string;
  code: string;
  field?: string;
  message?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly errors: ValidationError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    errors?: ValidationError[],
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.errors = errors;
    this.headers = headers;
  }

  toBody(): Record<string, unknown> {
    return {
      message: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
      documentation_url: DOCS,
      status: String(this.status),
    };
  }
}

export const notFound = () => new ApiError(404, 'Not Found');
export const validationFailed = (...errors: ValidationError[]) =>
  new ApiError(422, 'Validation Failed', errors);

export function requireCaller(ctx: RestContext): NonNullable<Caller> {
  if (!ctx.caller) throw new ApiError(401, 'Requires authentication');
  return ctx.caller;
}

/** Classic OAuth app tokens (`gho_`) carry scopes; GitHub App user tokens (`ghu_`) do not. */
export function hasScope(caller: Caller, anyOf: string[]): boolean {
  if (!caller || !caller.token.token.startsWith('gho_')) return true;
  return caller.token.scopes.some((scope) => anyOf.includes(scope));
}

export interface RepoAccess {
  need: Permission;
  /** OAuth scopes of which one must have been granted (classic tokens only). */
  scopes?: string[] | ((repo: FakeRepo) => string[]);
}

/**
 * Looks up `{owner}/{repo}` and checks the caller may do what they ask. Missing repository,
 * missing permission and missing scope all answer 404, as GitHub does for private data;
 * a caller who can see the repository but lacks write access gets 403.
 */
export function requireRepo(ctx: RestContext, access: RepoAccess): FakeRepo {
  const owner = ctx.params['owner'] ?? '';
  const name = ctx.params['repo'] ?? '';
  const repo = ctx.core.state.repos.get(`${owner}/${name}`.toLowerCase());
  if (!repo) throw notFound();
  const login = ctx.caller?.user.login ?? null;
  const granted = permissionOf(ctx.core.state, repo, login);
  const privateNeedsRepoScope = repo.data.private && !hasScope(ctx.caller, ['repo']);
  if (granted === null || privateNeedsRepoScope) throw notFound();
  const scopes = typeof access.scopes === 'function' ? access.scopes(repo) : access.scopes;
  if (scopes && !hasScope(ctx.caller, scopes)) {
    throw new ApiError(404, 'Not Found', undefined, {
      'x-accepted-oauth-scopes': scopes.join(', '),
    });
  }
  if (!permits(granted, access.need)) {
    if (!ctx.caller) throw new ApiError(401, 'Requires authentication');
    // Admin-only endpoints (hooks) are 404 for people who merely see the repository.
    if (access.need === 'admin') throw notFound();
    throw new ApiError(403, 'Resource not accessible by integration');
  }
  return repo;
}

export function writeScopes(repo: FakeRepo): string[] {
  return repo.data.private ? ['repo'] : ['repo', 'public_repo'];
}

export function intParam(ctx: RestContext, name: string): number {
  // The OpenAPI check has already refused non-integers, so this cannot be NaN.
  return Number(ctx.params[name]);
}

export interface Page<T> {
  items: T[];
  headers: Record<string, string>;
}

/**
 * GitHub's page-number pagination: per_page defaults to 30 and is capped at 100; the Link
 * header lists prev, next, last and first (only those that apply), keeping the other query
 * parameters as the client sent them.
 */
export function paginate<T>(ctx: RestContext, all: T[]): Page<T> {
  const perPage = Math.min(Math.max(Number(ctx.query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(ctx.query.get('page') ?? 1) || 1, 1);
  const lastPage = Math.max(Math.ceil(all.length / perPage), 1);
  const items = all.slice((page - 1) * perPage, page * perPage);
  const link = (target: number) => {
    const query = new URLSearchParams(ctx.query);
    query.set('per_page', String(perPage));
    query.set('page', String(target));
    return `${ctx.selfUrl}?${query.toString()}`;
  };
  const rels: string[] = [];
  if (page > 1) rels.push(`<${link(Math.min(page - 1, lastPage))}>; rel="prev"`);
  if (page < lastPage)
    rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(lastPage)}>; rel="last"`);
  if (page > 1) rels.push(`<${link(1)}>; rel="first"`);
  return { items, headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
}

export function ok(body: unknown, headers?: Record<string, string>): RestReply {
  return { status: 200, body, ...(headers ? { headers } : {}) };
}
