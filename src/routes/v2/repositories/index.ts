// Repositories (mounted at /api/v2/repositories): the user's GitHub repositories, connecting
// one (webhook + backfill), its settings, secret rotation, disconnecting, and statistics.
// Every query is scoped to the caller: another user's connection answers 404.
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {
  ConnectionSettings,
  RepositoryConnection,
} from '../../../db/stores/repository-connections-store.ts';
import type { ConnectionHealth } from '../../../db/stores/webhook-deliveries-store.ts';
import { errors } from '../../../errors.ts';
import {
  connectRepository,
  type RepositoryDeps,
} from '../../../services/repositories/connect-repository.ts';
import { listGitHubRepositories } from '../../../services/repositories/github-repositories.ts';
import {
  disconnectRepository,
  getConnection,
  rotateWebhookSecret,
  updateConnection,
} from '../../../services/repositories/manage-connection.ts';
import { hookUrl } from '../../../services/repositories/repository-hook.ts';
import {
  connectionHealth,
  repositoryStats,
} from '../../../services/repositories/repository-stats.ts';
import { listConnections } from '../../../services/repositories/list-connections.ts';
import {
  ConnectBody,
  ConnectResult,
  Connection,
  ConnectionList,
  ConnectionListQuery,
  ConnectionParams,
  DeleteQuery,
  Disconnected,
  GitHubRepositoryList,
  GitHubRepositoryQuery,
  RepositoryStats,
  StatsQuery,
  UpdateConnectionBody,
  cookieOrBearer,
  errorsFor,
} from './schemas.ts';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function connectionJson(
  connection: RepositoryConnection,
  publicUrl: string,
  health?: ConnectionHealth,
) {
  return {
    id: connection.id,
    repository: {
      id: connection.githubRepoId,
      full_name: connection.fullName,
      default_branch: connection.defaultBranch,
      private: connection.private,
      html_url: connection.htmlUrl,
    },
    enabled: connection.enabled,
    watched_branches: connection.watchedBranches,
    autofix_mode: connection.autofixMode,
    fix_budget_per_day: connection.fixBudgetPerDay,
    fix_budget_per_month: connection.fixBudgetPerMonth,
    auto_rerun_infrastructure: connection.autoRerunInfrastructure,
    webhook: {
      id: connection.webhookId,
      url: hookUrl({ publicUrl }, connection.id),
      verified_at: iso(connection.webhookVerifiedAt),
      last_delivery_at: iso(connection.lastDeliveryAt),
      previous_secret_valid_until:
        connection.previousSecretExpiresAt && connection.previousSecretExpiresAt > new Date()
          ? connection.previousSecretExpiresAt.toISOString()
          : null,
    },
    ...(health
      ? {
          health: {
            deliveries_24h: health.deliveries,
            failures_24h: health.failures,
            last_delivery_at: iso(health.lastReceivedAt),
            last_error: health.lastError,
            last_error_at: iso(health.lastErrorAt),
          },
        }
      : {}),
    created_at: connection.createdAt.toISOString(),
    updated_at: connection.updatedAt.toISOString(),
  };
}

/** API body (snake_case) → store settings. */
export function settingsFrom(body: {
  enabled?: boolean | undefined;
  watched_branches?: string[] | undefined;
  autofix_mode?: 'off' | 'suggest' | 'pull_request' | undefined;
  fix_budget_per_day?: number | undefined;
  fix_budget_per_month?: number | undefined;
  auto_rerun_infrastructure?: boolean | undefined;
}): ConnectionSettings {
  return {
    enabled: body.enabled,
    watchedBranches: body.watched_branches,
    autofixMode: body.autofix_mode,
    fixBudgetPerDay: body.fix_budget_per_day,
    fixBudgetPerMonth: body.fix_budget_per_month,
    autoRerunInfrastructure: body.auto_rerun_infrastructure,
  };
}

const repositoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps: RepositoryDeps = {
    db: app.db,
    config: app.config,
    secretBox: app.secretBox,
    github: app.github,
    log: app.log,
  };
  const publicUrl = app.config.publicUrl;
  const tags = ['repositories'];

  app.get(
    '/github',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: 'Your repositories on GitHub (every page), each with a connected flag',
        security: cookieOrBearer,
        querystring: GitHubRepositoryQuery,
        response: { 200: GitHubRepositoryList, ...errorsFor(400, 401, 403, 409, 502, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const { items, total } = await listGitHubRepositories(deps, request.user!.id, {
        q: q.q,
        sort: q.sort,
        direction: q.direction,
        connected: q.connected,
        adminOnly: q.admin,
        page: q.page,
        perPage: q.per_page,
      });
      return {
        items: items.map((r) => ({
          id: r.id,
          full_name: r.fullName,
          owner: r.owner,
          name: r.name,
          private: r.private,
          archived: r.archived,
          description: r.description,
          default_branch: r.defaultBranch,
          html_url: r.htmlUrl,
          pushed_at: r.pushedAt,
          updated_at: r.updatedAt,
          admin: r.admin,
          connected: r.connectionId !== null,
          connection_id: r.connectionId,
        })),
        total,
        page: q.page,
        per_page: q.per_page,
      };
    },
  );

  app.post(
    '/connect',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: 'Connect a repository: create its webhook, import recent runs',
        description:
          'Give full_name or repository_id. Idempotent: connecting an already connected repository returns its connection (200) and recreates its webhook if it was removed on GitHub.',
        security: cookieOrBearer,
        body: ConnectBody,
        response: {
          200: ConnectResult,
          201: ConnectResult,
          ...errorsFor(400, 401, 403, 404, 409, 502, 503),
        },
      },
    },
    async (request, reply) => {
      const { full_name: fullName, repository_id: repositoryId, settings } = request.body;
      if ((fullName === undefined) === (repositoryId === undefined)) {
        throw new errors.BAD_REQUEST('give either full_name or repository_id');
      }
      const { connection, created } = await connectRepository(
        deps,
        request.user!.id,
        fullName !== undefined ? { fullName } : { repositoryId: repositoryId! },
        settings ? settingsFrom(settings) : {},
      );
      return reply
        .status(created ? 201 : 200)
        .send({ created, connection: connectionJson(connection, publicUrl) });
    },
  );

  app.get(
    '/connections',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: 'Connected repositories, newest first',
        security: cookieOrBearer,
        querystring: ConnectionListQuery,
        response: { 200: ConnectionList, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      const page = await listConnections(app.db, request.user!.id, filters, { limit, cursor });
      return {
        items: page.items.map((c) => connectionJson(c, publicUrl)),
        next_cursor: page.next,
      };
    },
  );

  app.get(
    '/connections/:id',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: 'One connection, with its webhook health over the last 24 hours',
        security: cookieOrBearer,
        params: ConnectionParams,
        response: { 200: Connection, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const connection = await getConnection(deps, request.user!.id, request.params.id);
      const health = await connectionHealth(app.db, [connection.id]);
      return connectionJson(connection, publicUrl, health.get(connection.id));
    },
  );

  app.patch(
    '/connections/:id',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: 'Change a connection: enabled, watched branches, auto-fix mode, fix budgets',
        security: cookieOrBearer,
        params: ConnectionParams,
        body: UpdateConnectionBody,
        response: { 200: Connection, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const updated = await updateConnection(
        deps,
        request.user!.id,
        request.params.id,
        settingsFrom(request.body),
      );
      return connectionJson(updated, publicUrl);
    },
  );

  app.delete(
    '/connections/:id',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: 'Disconnect: remove the webhook on GitHub, then the connection and its runs',
        security: cookieOrBearer,
        params: ConnectionParams,
        querystring: DeleteQuery,
        response: { 200: Disconnected, ...errorsFor(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request) => {
      const result = await disconnectRepository(deps, request.user!.id, request.params.id, {
        force: request.query.force,
      });
      return {
        id: request.params.id,
        deleted: true as const,
        hook_removed: result.hookRemoved,
        hook_error: result.hookError,
      };
    },
  );

  app.post(
    '/connections/:id/rotate-secret',
    {
      preHandler: app.requireScope('repos:write'),
      schema: {
        tags,
        summary: 'New webhook secret on GitHub; the old one verifies for 24 hours more',
        security: cookieOrBearer,
        params: ConnectionParams,
        response: { 200: Connection, ...errorsFor(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request) => {
      const rotated = await rotateWebhookSecret(deps, request.user!.id, request.params.id);
      return connectionJson(rotated, publicUrl);
    },
  );

  app.get(
    '/stats',
    {
      preHandler: app.requireScope('repos:read'),
      schema: {
        tags,
        summary: 'Per connected repository: runs, failures and webhook health in a window',
        security: cookieOrBearer,
        querystring: StatsQuery,
        response: { 200: RepositoryStats, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const stats = await repositoryStats(app.db, request.user!.id, request.query.days);
      return {
        since: stats.since.toISOString(),
        until: stats.until.toISOString(),
        connections: stats.totals,
        repositories: stats.repositories.map((r) => ({
          connection_id: r.connection.id,
          full_name: r.connection.fullName,
          enabled: r.connection.enabled,
          verified: r.connection.webhookVerifiedAt !== null,
          runs: r.runs,
          failures: r.failures,
          failure_rate: r.runs === 0 ? null : Math.round((r.failures / r.runs) * 10000) / 10000,
          last_run_at: iso(r.lastRunAt),
          deliveries: r.health.deliveries,
          delivery_failures: r.health.failures,
          last_delivery_at: iso(r.health.lastReceivedAt),
          last_error: r.health.lastError,
        })),
      };
    },
  );
};

export default repositoryRoutes;
