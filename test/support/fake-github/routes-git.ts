// REST routes for what opening a fix pull request needs: refs, file contents (one-file
// commits), blobs/trees/commits (multi-file commits) and pull requests. The answers and
// refusals follow GitHub's: 422 "Reference already exists", 409 when a contents `sha` is
// stale, 422 "No commits between …" and "A pull request already exists for …".
import type { RestContext, RestHandler } from './rest.ts';
import {
  ApiError,
  intParam,
  notFound,
  ok,
  paginate,
  requireCaller,
  requireRepo,
  validationFailed,
  writeScopes,
} from './rest.ts';
import { ancestry, createCommit, isAncestor, resolveRef } from './git.ts';
import {
  blobSha,
  commitJson,
  contentEntry,
  isoSeconds,
  pullJson,
  refJson,
  simpleUser,
  treeSha,
  wrappedBase64,
} from './shapes.ts';
import type { FakeCommit, FakeRepo } from './state.ts';

const read = { need: 'read' } as const;
const write = { need: 'write', scopes: writeScopes } as const;

function commitOrThrow(repo: FakeRepo, sha: string): FakeCommit {
  const commit = repo.commits.get(sha);
  if (!commit) throw notFound();
  return commit;
}

function authorFor(
  ctx: RestContext,
  input?: { name?: string; email?: string; date?: string },
): FakeCommit['author'] {
  const user = ctx.caller?.user;
  return {
    name: input?.name ?? user?.name ?? user?.login ?? 'GitHub',
    email: input?.email ?? user?.email ?? 'noreply@github.com',
    date: input?.date ?? isoSeconds(ctx.core.now()),
  };
}

// ---------------------------------------------------------------------------------------
// Refs

const getRef: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, read);
  const ref = `refs/${ctx.params['ref'] ?? ''}`;
  const sha = repo.refs.get(ref);
  if (sha === undefined) throw notFound();
  return ok(refJson(repo.data.full_name, ref, sha, ctx.core.urls));
};

const createRef: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const { ref, sha } = ctx.body as { ref: string; sha: string };
  if (!ref.startsWith('refs/') || ref.split('/').length < 3) {
    throw new ApiError(
      422,
      'Reference name must start with "refs/" and have at least two slashes.',
    );
  }
  if (repo.refs.has(ref)) throw new ApiError(422, 'Reference already exists');
  if (!repo.commits.has(sha)) throw new ApiError(422, 'Object does not exist');
  repo.refs.set(ref, sha);
  const json = refJson(repo.data.full_name, ref, sha, ctx.core.urls);
  return { status: 201, body: json, headers: { location: json.url } };
};

const updateRef: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const ref = `refs/${ctx.params['ref'] ?? ''}`;
  const current = repo.refs.get(ref);
  if (current === undefined) throw new ApiError(422, 'Reference does not exist');
  const { sha, force } = ctx.body as { sha: string; force?: boolean };
  if (!repo.commits.has(sha)) throw new ApiError(422, 'Object does not exist');
  if (!force && !isAncestor(repo, current, sha))
    throw new ApiError(422, 'Update is not a fast forward');
  repo.refs.set(ref, sha);
  return ok(refJson(repo.data.full_name, ref, sha, ctx.core.urls));
};

const deleteRef: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const ref = `refs/${ctx.params['ref'] ?? ''}`;
  if (!repo.refs.delete(ref)) throw new ApiError(422, 'Reference does not exist');
  return { status: 204 };
};

// ---------------------------------------------------------------------------------------
// Blobs, trees and commits

const createBlob: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const { content, encoding } = ctx.body as { content: string; encoding?: string };
  const text = encoding === 'base64' ? Buffer.from(content, 'base64').toString('utf8') : content;
  const sha = blobSha(text);
  repo.blobs.set(sha, text);
  return {
    status: 201,
    body: { sha, url: `${ctx.core.urls.api}/repos/${repo.data.full_name}/git/blobs/${sha}` },
  };
};

interface TreeEntryInput {
  path?: string;
  mode?: string;
  type?: string;
  sha?: string | null;
  content?: string;
}

const createTree: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const { tree, base_tree: baseTree } = ctx.body as { tree: TreeEntryInput[]; base_tree?: string };
  const files = new Map<string, string>();
  if (baseTree !== undefined) {
    const base = repo.trees.get(baseTree);
    if (!base) throw new ApiError(422, 'base_tree is not a valid tree oid');
    for (const [path, content] of base) files.set(path, content);
  }
  for (const entry of tree) {
    if (entry.path === undefined) throw new ApiError(422, 'tree.path is required');
    if (entry.sha === null) {
      files.delete(entry.path);
      continue;
    }
    const content =
      entry.content ?? (entry.sha === undefined ? undefined : repo.blobs.get(entry.sha));
    if (content === undefined) throw new ApiError(422, 'tree.sha is not a valid blob');
    files.set(entry.path, content);
  }
  const sha = treeSha(files);
  // Registered so that a later `POST git/commits` finds the files by tree sha.
  repo.trees.set(sha, new Map(files));
  const url = `${ctx.core.urls.api}/repos/${repo.data.full_name}/git/trees/${sha}`;
  return {
    status: 201,
    body: {
      sha,
      url,
      truncated: false,
      tree: [...files.entries()].map(([path, content]) => ({
        path,
        mode: '100644',
        type: 'blob',
        sha: blobSha(content),
        size: Buffer.byteLength(content),
        url: `${ctx.core.urls.api}/repos/${repo.data.full_name}/git/blobs/${blobSha(content)}`,
      })),
    },
  };
};

const createGitCommit: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const body = ctx.body as {
    message: string;
    tree: string;
    parents?: string[];
    author?: { name?: string; email?: string; date?: string };
  };
  const files = repo.trees.get(body.tree);
  if (!files) throw new ApiError(422, 'Tree SHA does not exist');
  for (const parent of body.parents ?? []) {
    if (!repo.commits.has(parent))
      throw new ApiError(422, 'Parent SHA does not exist or is not a commit object');
  }
  const commit = createCommit(repo, {
    message: body.message,
    parents: body.parents ?? [],
    files,
    author: authorFor(ctx, body.author),
  });
  const json = commitJson(repo.data.full_name, commit, ctx.core.urls);
  return { status: 201, body: json, headers: { location: json.url } };
};

const getGitCommit: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, read);
  return ok(
    commitJson(
      repo.data.full_name,
      commitOrThrow(repo, ctx.params['commit_sha'] ?? ''),
      ctx.core.urls,
    ),
  );
};

// ---------------------------------------------------------------------------------------
// Contents

const getContent: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, read);
  const ref = ctx.query.get('ref') ?? repo.data.default_branch;
  const sha = resolveRef(repo, ref);
  if (sha === undefined) throw new ApiError(404, `No commit found for the ref ${ref}`);
  const files = commitOrThrow(repo, sha).files;
  const path = (ctx.params['path'] ?? '').replace(/^\/+|\/+$/g, '');
  const fullName = repo.data.full_name;
  const content = files.get(path);
  if (content !== undefined) {
    return ok({
      ...contentEntry(fullName, path, ref, 'file', content, ctx.core.urls),
      content: wrappedBase64(content),
      encoding: 'base64',
    });
  }
  const prefix = `${path}/`;
  const children = new Map<string, 'file' | 'dir'>();
  for (const filePath of files.keys()) {
    if (!filePath.startsWith(prefix)) continue;
    const [first, ...rest] = filePath.slice(prefix.length).split('/');
    if (first !== undefined) children.set(first, rest.length > 0 ? 'dir' : 'file');
  }
  if (children.size === 0) throw notFound();
  return ok(
    [...children.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, type]) =>
        contentEntry(
          fullName,
          `${prefix}${name}`,
          ref,
          type,
          type === 'file' ? (files.get(`${prefix}${name}`) ?? '') : null,
          ctx.core.urls,
        ),
      ),
  );
};

const putContent: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const body = ctx.body as {
    message: string;
    content: string;
    sha?: string;
    branch?: string;
    author?: { name?: string; email?: string; date?: string };
    committer?: { name?: string; email?: string; date?: string };
  };
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(body.content)) {
    throw new ApiError(422, 'content is not valid Base64');
  }
  const branch = body.branch ?? repo.data.default_branch;
  const ref = `refs/heads/${branch}`;
  const head = repo.refs.get(ref);
  if (head === undefined) throw new ApiError(404, `Branch ${branch} not found`);
  const path = ctx.params['path'] ?? '';
  const parent = commitOrThrow(repo, head);
  const existing = parent.files.get(path);
  if (existing !== undefined && body.sha === undefined) {
    throw new ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
  }
  if (existing !== undefined && body.sha !== blobSha(existing)) {
    throw new ApiError(409, `${path} does not match ${body.sha ?? ''}`);
  }
  const content = Buffer.from(body.content, 'base64').toString('utf8');
  const files = new Map(parent.files);
  files.set(path, content);
  const commit = createCommit(repo, {
    message: body.message,
    parents: [head],
    files,
    author: authorFor(ctx, body.author ?? body.committer),
  });
  repo.refs.set(ref, commit.sha);
  const { urls } = ctx.core;
  return {
    status: existing === undefined ? 201 : 200,
    body: {
      content: contentEntry(repo.data.full_name, path, branch, 'file', content, urls),
      commit: commitJson(repo.data.full_name, commit, urls),
    },
  };
};

// ---------------------------------------------------------------------------------------
// Pull requests

function branchOf(head: string, ownerLogin: string): string | undefined {
  const [owner, branch] = head.includes(':') ? head.split(':', 2) : [ownerLogin, head];
  return owner?.toLowerCase() === ownerLogin.toLowerCase() ? branch : undefined;
}

const createPull: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, write);
  const caller = requireCaller(ctx);
  const body = ctx.body as {
    title?: string;
    head: string;
    base: string;
    body?: string;
    draft?: boolean;
    maintainer_can_modify?: boolean;
  };
  const owner = repo.data.owner.login;
  const headBranch = branchOf(body.head, owner);
  const headSha = headBranch === undefined ? undefined : repo.refs.get(`refs/heads/${headBranch}`);
  const baseSha = repo.refs.get(`refs/heads/${body.base}`);
  if (headBranch === undefined || headSha === undefined) {
    throw validationFailed({ resource: 'PullRequest', field: 'head', code: 'invalid' });
  }
  if (baseSha === undefined)
    throw validationFailed({ resource: 'PullRequest', field: 'base', code: 'invalid' });
  if (body.title === undefined || body.title === '') {
    throw validationFailed({ resource: 'Issue', field: 'title', code: 'missing_field' });
  }
  const baseHistory = ancestry(repo, baseSha);
  const newCommits = ancestry(repo, headSha).filter((sha) => !baseHistory.includes(sha));
  if (newCommits.length === 0) {
    throw validationFailed({
      resource: 'PullRequest',
      code: 'custom',
      message: `No commits between ${body.base} and ${headBranch}`,
    });
  }
  const duplicate = [...repo.pulls.values()].some(
    (pull) => pull.state === 'open' && pull.head.ref === headBranch && pull.base.ref === body.base,
  );
  if (duplicate) {
    throw validationFailed({
      resource: 'PullRequest',
      code: 'custom',
      message: `A pull request already exists for ${owner}:${headBranch}.`,
    });
  }
  const headFiles = commitOrThrow(repo, headSha).files;
  const baseFiles = commitOrThrow(repo, baseSha).files;
  const changed = new Set(
    [...headFiles.keys(), ...baseFiles.keys()].filter(
      (path) => headFiles.get(path) !== baseFiles.get(path),
    ),
  );
  const number = repo.nextNumber;
  repo.nextNumber += 1;
  const pull = pullJson({
    number,
    id: ctx.core.nextId('pull'),
    title: body.title,
    body: body.body ?? null,
    draft: body.draft ?? false,
    maintainerCanModify: body.maintainer_can_modify ?? true,
    user: simpleUser(caller.user, ctx.core.urls),
    repo,
    head: { ref: headBranch, sha: headSha },
    base: { ref: body.base, sha: baseSha },
    commits: newCommits.length,
    changedFiles: changed.size,
    urls: ctx.core.urls,
    now: isoSeconds(ctx.core.now()),
  });
  repo.pulls.set(number, pull);
  ctx.core.counters.pullsCreated += 1;
  return { status: 201, body: pull, headers: { location: pull.url } };
};

const getPull: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, read);
  const pull = repo.pulls.get(intParam(ctx, 'pull_number'));
  if (!pull) throw notFound();
  return ok(pull);
};

const listPulls: RestHandler = (ctx) => {
  const repo = requireRepo(ctx, read);
  const state = ctx.query.get('state') ?? 'open';
  const head = ctx.query.get('head');
  const base = ctx.query.get('base');
  const pulls = [...repo.pulls.values()]
    .filter((pull) => state === 'all' || pull.state === state)
    .filter((pull) => head === null || `${pull.head.label}` === head || pull.head.ref === head)
    .filter((pull) => base === null || pull.base.ref === base)
    .sort((a, b) => b.number - a.number);
  const page = paginate(ctx, pulls);
  return ok(page.items, page.headers);
};

export const gitRoutes: Record<string, RestHandler> = {
  'GET /repos/{owner}/{repo}/git/ref/{ref}': getRef,
  'POST /repos/{owner}/{repo}/git/refs': createRef,
  'PATCH /repos/{owner}/{repo}/git/refs/{ref}': updateRef,
  'DELETE /repos/{owner}/{repo}/git/refs/{ref}': deleteRef,
  'POST /repos/{owner}/{repo}/git/blobs': createBlob,
  'POST /repos/{owner}/{repo}/git/trees': createTree,
  'POST /repos/{owner}/{repo}/git/commits': createGitCommit,
  'GET /repos/{owner}/{repo}/git/commits/{commit_sha}': getGitCommit,
  'GET /repos/{owner}/{repo}/contents/{path}': getContent,
  'PUT /repos/{owner}/{repo}/contents/{path}': putContent,
  'POST /repos/{owner}/{repo}/pulls': createPull,
  'GET /repos/{owner}/{repo}/pulls': listPulls,
  'GET /repos/{owner}/{repo}/pulls/{pull_number}': getPull,
};
