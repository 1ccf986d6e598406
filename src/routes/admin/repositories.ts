// Repositories page (mounted at /admin): the user's GitHub repositories with connect
// buttons, and their connections with settings, webhook health (verified? last delivery,
// recent failures), secret rotation and disconnect. Every form posts with the CSRF token;
// failures come back as a message on the page.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { errors } from '../../errors.ts';
import {
  connectRepository,
  type RepositoryDeps,
} from '../../services/repositories/connect-repository.ts';
import { listGitHubRepositories } from '../../services/repositories/github-repositories.ts';
import {
  disconnectRepository,
  rotateWebhookSecret,
  updateConnection,
} from '../../services/repositories/manage-connection.ts';
import { hookUrl } from '../../services/repositories/repository-hook.ts';
import { connectionHealth } from '../../services/repositories/repository-stats.ts';

const GITHUB_PAGE_SIZE = 30;
const AUTOFIX_MODES = ['off', 'suggest', 'pull_request'] as const;
const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** A message a person can act on (bad input, GitHub refusing, reconnect needed), else null. */
function userError(err: unknown): string | null {
  const e = err as FastifyError;
  const status = e.statusCode ?? 500;
  return status < 500 || status === 502 || status === 503 ? e.message : null;
}

const repositoryPages: FastifyPluginAsyncTypebox = async (app) => {
  const deps: RepositoryDeps = {
    db: app.db,
    config: app.config,
    secretBox: app.secretBox,
    github: app.github,
    log: app.log,
  };
  const store = createRepositoryConnectionsStore(app.db);

  app.get(
    '/repositories',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200 })),
          page: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
        }),
      },
    },
    async (request, reply) => {
      const userId = request.user!.id;
      const q = request.query.q?.trim() ?? '';
      const connections = await store.allForUser(userId);
      const health = await connectionHealth(
        app.db,
        connections.map((c) => c.id),
      );
      let github: Awaited<ReturnType<typeof listGitHubRepositories>> | null = null;
      let githubError: string | null = null;
      try {
        github = await listGitHubRepositories(deps, userId, {
          q: q || undefined,
          sort: 'pushed',
          page: request.query.page,
          perPage: GITHUB_PAGE_SIZE,
        });
      } catch (err) {
        githubError = userError(err);
        if (githubError === null) throw err;
      }
      const pageUrl = (page: number) =>
        `/admin/repositories?${new URLSearchParams({ ...(q ? { q } : {}), page: String(page) })}`;
      const pages = github ? Math.ceil(github.total / GITHUB_PAGE_SIZE) : 0;
      return reply.page('admin/repositories', {
        title: 'Repositories',
        q,
        connections: connections.map((c) => ({
          ...c,
          hookUrl: hookUrl(app.config, c.id),
          health: health.get(c.id)!,
          graceUntil:
            c.previousSecretExpiresAt && c.previousSecretExpiresAt > new Date()
              ? c.previousSecretExpiresAt
              : null,
        })),
        github: github?.items ?? [],
        githubTotal: github?.total ?? 0,
        githubError,
        prevUrl: request.query.page > 1 ? pageUrl(request.query.page - 1) : null,
        nextUrl: request.query.page < pages ? pageUrl(request.query.page + 1) : null,
        autofixModes: AUTOFIX_MODES,
      });
    },
  );

  app.post(
    '/repositories/connect',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        body: Type.Object({ full_name: Type.String({ maxLength: 201 }) }),
      },
    },
    async (request, reply) => {
      const fullName = request.body.full_name.trim();
      try {
        if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(fullName)) {
          throw new errors.BAD_REQUEST('choose a repository as owner/name');
        }
        const { connection, created } = await connectRepository(deps, request.user!.id, {
          fullName,
        });
        reply.flash(
          'success',
          created
            ? `Connected ${connection.fullName}: the webhook is created and recent runs are being imported.`
            : `${connection.fullName} was already connected; its webhook is in place.`,
        );
      } catch (err) {
        const message = userError(err);
        if (message === null) throw err;
        reply.flash('error', `${fullName} was not connected: ${message}`);
      }
      return reply.redirect('/admin/repositories', 303);
    },
  );

  app.post(
    '/repositories/:id/settings',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        params: Id,
        body: Type.Object({
          enabled: Type.Optional(Type.String({ maxLength: 10 })),
          watched_branches: Type.Optional(Type.String({ maxLength: 5000 })),
          autofix_mode: Type.Union(AUTOFIX_MODES.map((m) => Type.Literal(m))),
          fix_budget_per_day: Type.Integer({ minimum: 0, maximum: 1000 }),
          fix_budget_per_month: Type.Integer({ minimum: 0, maximum: 10000 }),
          auto_rerun_infrastructure: Type.Optional(Type.String({ maxLength: 10 })),
        }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const branches = (body.watched_branches ?? '').split(/[,\n]/);
      try {
        const updated = await updateConnection(deps, request.user!.id, request.params.id, {
          enabled: body.enabled !== undefined,
          watchedBranches: branches,
          autofixMode: body.autofix_mode,
          fixBudgetPerDay: body.fix_budget_per_day,
          fixBudgetPerMonth: body.fix_budget_per_month,
          autoRerunInfrastructure: body.auto_rerun_infrastructure !== undefined,
        });
        reply.flash('success', `Settings of ${updated.fullName} saved.`);
      } catch (err) {
        const message = userError(err);
        if (message === null) throw err;
        reply.flash('error', message);
      }
      return reply.redirect('/admin/repositories', 303);
    },
  );

  app.post(
    '/repositories/:id/rotate-secret',
    { preHandler: app.requirePageUser, schema: { hide: true, params: Id } },
    async (request, reply) => {
      try {
        const rotated = await rotateWebhookSecret(deps, request.user!.id, request.params.id);
        reply.flash(
          'success',
          `New webhook secret set on GitHub for ${rotated.fullName}; the old one keeps working for 24 hours.`,
        );
      } catch (err) {
        const message = userError(err);
        if (message === null) throw err;
        reply.flash('error', `The secret was not rotated: ${message}`);
      }
      return reply.redirect('/admin/repositories', 303);
    },
  );

  app.post(
    '/repositories/:id/disconnect',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        params: Id,
        body: Type.Object({ force: Type.Optional(Type.String({ maxLength: 10 })) }),
      },
    },
    async (request, reply) => {
      try {
        const result = await disconnectRepository(deps, request.user!.id, request.params.id, {
          force: request.body.force !== undefined,
        });
        reply.flash(
          result.hookRemoved ? 'success' : 'info',
          result.hookRemoved
            ? 'Repository disconnected and its webhook removed from GitHub.'
            : `Repository disconnected. Its webhook could not be removed from GitHub (${result.hookError}); delete it in the repository settings.`,
        );
      } catch (err) {
        const message = userError(err);
        if (message === null) throw err;
        reply.flash(
          'error',
          `Not disconnected: ${message}. Use “Disconnect anyway” to remove it from Flowfix regardless.`,
        );
      }
      return reply.redirect('/admin/repositories', 303);
    },
  );
};

export default repositoryPages;
