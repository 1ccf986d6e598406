// REST routes for the signed-in user, their repositories and repository webhooks.
// Hook handling reproduces what Flowfix's "connect a repository" flow meets on GitHub:
// validation 422s, "Hook already exists on this repository", a secret that is never echoed,
// and a `ping` delivery sent asynchronously right after creation and on `/pings`.
import { knownWebhookEvents } from './openapi.ts';
import type { RestContext, RestHandler } from './rest.ts';
import {
  hasScope,
  notFound,
  ok,
  paginate,
  requireCaller,
  requireRepo,
  validationFailed,
} from './rest.ts';
import { hookJson, isoSeconds, permissionsBlock, privateUser, simpleUser } from './shapes.ts';
import type { FakeHook, FakeRepo, RepoJson } from './state.ts';
import { permissionOf } from './state.ts';

const HOOK_READ_SCOPES = ['read:repo_hook', 'write:repo_hook', 'admin:repo_hook', 'repo'];
const HOOK_WRITE_SCOPES = ['write:repo_hook', 'admin:repo_hook', 'repo'];
const HOOK_DELETE_SCOPES = ['admin:repo_hook', 'repo'];

const ZEN = [
  'Design for failure.',
  'Keep it logically awesome.',
  'Anything added dilutes everything else.',
  'Practicality beats purity.',
  'Non-blocking is better than blocking.',
];

function withPermissions(ctx: RestContext, repo: FakeRepo): RepoJson {
  const login = ctx.caller?.user.login ?? null;
  if (login === null) return repo.data;
  return { ...repo.data, permissions: permissionsBlock(permissionOf(ctx.core.state, repo, login)) };
}

const getAuthenticatedUser: RestHandler = (ctx) => {
  const { user } = requireCaller(ctx);
  const owned = [...ctx.core.state.repos.values()].filter(
    (repo) => repo.data.owner.login.toLowerCase() === user.login.toLowerCase(),
  );
  const privateRepos = owned.filter((repo) => repo.data.private).length;
  return ok(
    privateUser(user, ctx.core.urls, { publicRepos: owned.length - privateRepos, privateRepos }),
    {
      'x-oauth-scopes': ctx.caller?.token.scopes.join(', ') ?? '',
    },
  );
};

const SORT_KEYS = {
  created: 'created_at',
  updated: 'updated_at',
  pushed: 'pushed_at',
  full_name: 'full_name',
} as const;

const listReposForAuthenticatedUser: RestHandler = (ctx) => {
  const { user } = requireCaller(ctx);
  const { state } = ctx.core;
  const type = ctx.query.get('type');
  if (type !== null && (ctx.query.has('visibility') || ctx.query.has('affiliation'))) {
    throw validationFailed({ resource: 'Repository', code: 'invalid', field: 'type' });
  }
  const visibility =
    ctx.query.get('visibility') ?? (type === 'public' || type === 'private' ? type : 'all');
  const affiliation = new Set(
    (
      ctx.query.get('affiliation') ??
      (type === 'owner'
        ? 'owner'
        : type === 'member'
          ? 'collaborator,organization_member'
          : 'owner,collaborator,organization_member')
    )
      .split(',')
      .map((a) => a.trim()),
  );
  const login = user.login.toLowerCase();
  const canSeePrivate = hasScope(ctx.caller, ['repo']);
  const visible = [...state.repos.values()].filter((repo) => {
    if (repo.data.private && (!canSeePrivate || visibility === 'public')) return false;
    if (!repo.data.private && visibility === 'private') return false;
    const ownerKey = repo.data.owner.login.toLowerCase();
    const owner = state.users.get(ownerKey);
    return (
      (affiliation.has('owner') && ownerKey === login) ||
      (affiliation.has('collaborator') && repo.collaborators.has(login)) ||
      (affiliation.has('organization_member') &&
        owner?.type === 'Organization' &&
        owner.members.has(login))
    );
  });
  const sort = (ctx.query.get('sort') ?? 'full_name') as keyof typeof SORT_KEYS;
  const key = SORT_KEYS[sort];
  const direction = ctx.query.get('direction') ?? (sort === 'full_name' ? 'asc' : 'desc');
  visible.sort((a, b) => {
    const x = String(a.data[key] ?? '').toLowerCase();
    const y = String(b.data[key] ?? '').toLowerCase();
    const order = x < y ? -1 : x > y ? 1 : a.data.id - b.data.id;
    return direction === 'asc' ? order : -order;
  });
  const page = paginate(ctx, visible);
  return ok(
    page.items.map((repo) => withPermissions(ctx, repo)),
    page.headers,
  );
};

const getRepo: RestHandler = (ctx) => ok(withPermissions(ctx, requireRepo(ctx, { need: 'read' })));

// ---------------------------------------------------------------------------------------
// Hooks

function findHook(ctx: RestContext, repo: FakeRepo): FakeHook {
  const hook = ctx.core.state.hooks.get(Number(ctx.params['hook_id']));
  if (!hook || hook.repoKey !== repo.data.full_name.toLowerCase()) throw notFound();
  return hook;
}

function repoHooks(ctx: RestContext, repo: FakeRepo): FakeHook[] {
  const key = repo.data.full_name.toLowerCase();
  return [...ctx.core.state.hooks.values()].filter((hook) => hook.repoKey === key);
}

interface HookConfigInput {
  url?: unknown;
  content_type?: unknown;
  secret?: unknown;
  insecure_ssl?: unknown;
}

function parseConfig(input: HookConfigInput | undefined): FakeHook['config'] {
  const url = input?.url;
  if (typeof url !== 'string' || url === '') {
    throw validationFailed({
      resource: 'Hook',
      code: 'custom',
      message: 'Config must contain URL for webhooks',
    });
  }
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw validationFailed({
      resource: 'Hook',
      code: 'custom',
      message: `${url} is not a supported URL`,
    });
  }
  const contentType = input?.content_type ?? 'form';
  if (contentType !== 'json' && contentType !== 'form') {
    throw validationFailed({ resource: 'Hook', code: 'invalid', field: 'content_type' });
  }
  const insecureSsl = String(input?.insecure_ssl ?? '0');
  if (insecureSsl !== '0' && insecureSsl !== '1') {
    throw validationFailed({ resource: 'Hook', code: 'invalid', field: 'insecure_ssl' });
  }
  const secret = input?.secret;
  return {
    url,
    content_type: contentType,
    insecure_ssl: insecureSsl,
    ...(typeof secret === 'string' && secret !== '' ? { secret } : {}),
  };
}

function checkEvents(events: string[]): string[] {
  const known = knownWebhookEvents();
  const unknown = events.filter((event) => event !== '*' && !known.has(event));
  if (unknown.length > 0) {
    throw validationFailed({
      resource: 'Hook',
      code: 'invalid',
      field: 'events',
      message: `Unknown events: ${unknown.join(', ')}`,
    });
  }
  return [...new Set(events)];
}

function schedulePing(ctx: RestContext, repo: FakeRepo, hook: FakeHook): void {
  const sender = ctx.caller ? simpleUser(ctx.caller.user, ctx.core.urls) : repo.data.owner;
  const payload = {
    zen: ZEN[hook.id % ZEN.length] ?? 'Design for failure.',
    hook_id: hook.id,
    hook: hookJson(hook, repo.data.full_name, ctx.core.urls),
    repository: repo.data,
    sender,
  };
  ctx.core.background(() => ctx.core.deliverToHook(hook, 'ping', payload));
}

const listHooks: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_READ_SCOPES });
  const page = paginate(ctx, repoHooks(ctx, repo));
  return ok(
    page.items.map((hook) => hookJson(hook, repo.data.full_name, ctx.core.urls)),
    page.headers,
  );
};

const createHook: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_WRITE_SCOPES });
  const body = (ctx.body ?? {}) as {
    name?: string;
    config?: HookConfigInput;
    events?: string[];
    active?: boolean;
  };
  if (body.name !== undefined && body.name !== 'web') {
    throw validationFailed({ resource: 'Hook', code: 'custom', message: 'Name must be "web"' });
  }
  const config = parseConfig(body.config);
  const events = checkEvents(body.events ?? ['push']);
  if (repoHooks(ctx, repo).some((hook) => hook.config.url === config.url)) {
    throw validationFailed({
      resource: 'Hook',
      code: 'custom',
      message: 'Hook already exists on this repository',
    });
  }
  const now = isoSeconds(ctx.core.now());
  const hook: FakeHook = {
    id: ctx.core.nextId('hook'),
    repoKey: repo.data.full_name.toLowerCase(),
    active: body.active ?? true,
    events,
    config,
    createdAt: now,
    updatedAt: now,
    lastResponse: { code: null, status: 'unused', message: null },
  };
  ctx.core.state.hooks.set(hook.id, hook);
  ctx.core.counters.hooksCreated += 1;
  // GitHub pings a new hook straight away, often before the creator has stored its id.
  if (ctx.core.pingOnHookCreate) schedulePing(ctx, repo, hook);
  const json = hookJson(hook, repo.data.full_name, ctx.core.urls);
  return { status: 201, body: json, headers: { location: json.url } };
};

const getHook: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_READ_SCOPES });
  return ok(hookJson(findHook(ctx, repo), repo.data.full_name, ctx.core.urls));
};

const updateHook: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_WRITE_SCOPES });
  const hook = findHook(ctx, repo);
  const body = (ctx.body ?? {}) as {
    config?: HookConfigInput;
    events?: string[];
    add_events?: string[];
    remove_events?: string[];
    active?: boolean;
  };
  // A new config replaces the old one entirely: leaving out `secret` removes the secret,
  // which GitHub documents and which silently breaks signature checks if forgotten.
  const config = body.config === undefined ? hook.config : parseConfig(body.config);
  let events = body.events ?? hook.events;
  events = [...events, ...(body.add_events ?? [])].filter(
    (e) => !(body.remove_events ?? []).includes(e),
  );
  hook.events = checkEvents(events);
  hook.config = config;
  if (body.active !== undefined) hook.active = body.active;
  hook.updatedAt = isoSeconds(ctx.core.now());
  return ok(hookJson(hook, repo.data.full_name, ctx.core.urls));
};

const deleteHook: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_DELETE_SCOPES });
  ctx.core.state.hooks.delete(findHook(ctx, repo).id);
  return { status: 204 };
};

const pingHook: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, { need: 'admin', scopes: HOOK_READ_SCOPES });
  schedulePing(ctx, repo, findHook(ctx, repo));
  return { status: 204 };
};

export const repoRoutes: Record<string, RestHandler> = {
  'GET /user': getAuthenticatedUser,
  'GET /user/repos': listReposForAuthenticatedUser,
  'GET /repos/{owner}/{repo}': getRepo,
  'GET /repos/{owner}/{repo}/hooks': listHooks,
  'POST /repos/{owner}/{repo}/hooks': createHook,
  'GET /repos/{owner}/{repo}/hooks/{hook_id}': getHook,
  'PATCH /repos/{owner}/{repo}/hooks/{hook_id}': updateHook,
  'DELETE /repos/{owner}/{repo}/hooks/{hook_id}': deleteHook,
  'POST /repos/{owner}/{repo}/hooks/{hook_id}/pings': pingHook,
};
