// A tiny git model for the fake: commits hold whole trees (path → content), refs point at
// commits. Enough for "create a branch, commit a fix, open a pull request" and for checking
// fast-forwards; nothing here tries to be a real object store.
import { sha1, treeSha } from './shapes.ts';
import type { FakeCommit, FakeRepo } from './state.ts';

export function createCommit(
  repo: FakeRepo,
  input: {
    message: string;
    parents: string[];
    files: Map<string, string>;
    author: FakeCommit['author'];
  },
): FakeCommit {
  const tree = treeSha(input.files);
  const sha = sha1(
    `commit\ntree ${tree}\n${input.parents.map((p) => `parent ${p}\n`).join('')}author ${input.author.name} <${input.author.email}> ${input.author.date}\n\n${input.message}\n${repo.commits.size}`,
  );
  const commit: FakeCommit = {
    sha,
    treeSha: tree,
    message: input.message,
    parents: input.parents,
    files: new Map(input.files),
    author: input.author,
  };
  repo.commits.set(sha, commit);
  repo.trees.set(tree, new Map(input.files));
  return commit;
}

/** `main`, `heads/main`, `refs/heads/main`, `refs/tags/v1` or a full commit sha → commit sha. */
export function resolveRef(repo: FakeRepo, refish: string): string | undefined {
  if (/^[0-9a-f]{40}$/.test(refish) && repo.commits.has(refish)) return refish;
  const candidates = refish.startsWith('refs/')
    ? [refish]
    : [`refs/${refish}`, `refs/heads/${refish}`, `refs/tags/${refish}`];
  for (const candidate of candidates) {
    const sha = repo.refs.get(candidate);
    if (sha !== undefined) return sha;
  }
  return undefined;
}

/** Commits reachable from `sha`, newest first. */
export function ancestry(repo: FakeRepo, sha: string): string[] {
  const seen: string[] = [];
  const queue = [sha];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined || seen.includes(next)) continue;
    seen.push(next);
    queue.push(...(repo.commits.get(next)?.parents ?? []));
  }
  return seen;
}

export function isAncestor(repo: FakeRepo, ancestor: string, descendant: string): boolean {
  return ancestry(repo, descendant).includes(ancestor);
}
