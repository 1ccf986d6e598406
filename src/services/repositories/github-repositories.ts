// The user's repositories as GitHub lists them (every page), filtered and sorted as asked,
// each marked with whether (and through which connection) Flowfix watches it. The list is
// bounded by what one person can see, so it is paged by offset after filtering.
import type { Db } from '../../db/client.ts';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import type { GitHubAccess } from '../../github/github-access.ts';
import { fromGitHub } from './github-errors.ts';

export interface GitHubRepositoryQuery {
  q?: string | undefined;
  sort: 'full_name' | 'created' | 'updated' | 'pushed';
  direction?: 'asc' | 'desc' | undefined;
  connected?: boolean | undefined;
  /** Only repositories where the user may add webhooks (admin). */
  adminOnly?: boolean | undefined;
  page: number;
  perPage: number;
}

export interface GitHubRepositoryView {
  id: number;
  fullName: string;
  owner: string;
  name: string;
  private: boolean;
  archived: boolean;
  description: string | null;
  defaultBranch: string;
  htmlUrl: string;
  pushedAt: string | null;
  updatedAt: string | null;
  admin: boolean;
  connectionId: string | null;
}

export async function listGitHubRepositories(
  deps: { db: Db; github: GitHubAccess },
  userId: string,
  query: GitHubRepositoryQuery,
): Promise<{ items: GitHubRepositoryView[]; total: number }> {
  const octokit = await deps.github.forUser(userId);
  let repos;
  try {
    repos = await octokit.paginate(octokit.rest.repos.listForAuthenticatedUser, {
      per_page: 100,
      sort: query.sort,
      direction: query.direction ?? (query.sort === 'full_name' ? 'asc' : 'desc'),
    });
  } catch (err) {
    throw fromGitHub(err, 'Repositories');
  }
  const connected = await createRepositoryConnectionsStore(deps.db).connectedRepoIds(userId);
  const needle = query.q?.trim().toLowerCase();
  const views = repos
    .map((r): GitHubRepositoryView => ({
      id: r.id,
      fullName: r.full_name,
      owner: r.owner.login,
      name: r.name,
      private: r.private,
      archived: r.archived ?? false,
      description: r.description ?? null,
      defaultBranch: r.default_branch ?? 'main',
      htmlUrl: r.html_url,
      pushedAt: r.pushed_at ?? null,
      updatedAt: r.updated_at ?? null,
      admin: r.permissions?.admin === true,
      connectionId: connected.get(r.id) ?? null,
    }))
    .filter(
      (r) =>
        (!needle || r.fullName.toLowerCase().includes(needle)) &&
        (query.connected === undefined || (r.connectionId !== null) === query.connected) &&
        (!query.adminOnly || r.admin),
    );
  const start = (query.page - 1) * query.perPage;
  return { items: views.slice(start, start + query.perPage), total: views.length };
}
