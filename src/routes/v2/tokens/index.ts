// API tokens (mounted at /api/v2). Creating one is the only time its secret is
// returned; afterwards only the prefix and last four characters are ever shown. Every
// query is scoped to the caller: another user's token id answers 404.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../../errors.ts';
import {
  decodeTokenCursor,
  encodeTokenCursor,
  type TokenView,
} from '../../../services/auth/api-tokens.ts';
import {
  ApiToken,
  CreateTokenBody,
  CreatedToken,
  ErrorResponse,
  ListQuery,
  TokenList,
  TokenParams,
  UpdateTokenBody,
  cookieOrBearer,
} from './schemas.ts';

const DAY_MS = 24 * 3600 * 1000;

export function tokenJson(view: TokenView) {
  return {
    id: view.id,
    name: view.name,
    prefix: view.prefix,
    last4: view.last4,
    masked: view.masked,
    scopes: view.scopes,
    active: view.active,
    expired: view.expired,
    expires_at: view.expiresAt?.toISOString() ?? null,
    last_used_at: view.lastUsedAt?.toISOString() ?? null,
    created_at: view.createdAt.toISOString(),
  };
}

const errorsFor = (...codes: Array<400 | 401 | 403 | 404>) =>
  Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<number, typeof ErrorResponse>;

const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tokens = app.apiTokens;

  app.post(
    '/tokens',
    {
      preHandler: app.requireScope('tokens:write'),
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (the only time it is shown)',
        security: cookieOrBearer,
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errorsFor(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.expires_at != null && body.expires_in_days !== undefined)
        throw new errors.BAD_REQUEST('give expires_at or expires_in_days, not both');
      const expiresAt =
        body.expires_in_days !== undefined
          ? new Date(Date.now() + body.expires_in_days * DAY_MS)
          : body.expires_at
            ? new Date(body.expires_at)
            : null;
      const created = await tokens.create(
        request.user!.id,
        { name: body.name, scopes: body.scopes, expiresAt },
        request.auth!.scopes,
      );
      reply.header('cache-control', 'no-store');
      return reply.status(201).send({ ...tokenJson(created.view), token: created.token });
    },
  );

  app.get(
    '/tokens',
    {
      preHandler: app.requireScope('tokens:read'),
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens, newest first (masked)',
        security: cookieOrBearer,
        querystring: ListQuery,
        response: { 200: TokenList, ...errorsFor(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await tokens.list(request.user!.id, {
        limit,
        after: cursor === undefined ? undefined : decodeTokenCursor(cursor),
      });
      return {
        items: page.items.map(tokenJson),
        next_cursor: page.next ? encodeTokenCursor(page.next) : null,
      };
    },
  );

  app.get(
    '/tokens/:id',
    {
      preHandler: app.requireScope('tokens:read'),
      schema: {
        tags: ['tokens'],
        summary: 'One API token (masked)',
        security: cookieOrBearer,
        params: TokenParams,
        response: { 200: ApiToken, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) => tokenJson(await tokens.get(request.user!.id, request.params.id)),
  );

  app.patch(
    '/tokens/:id',
    {
      preHandler: app.requireScope('tokens:write'),
      schema: {
        tags: ['tokens'],
        summary: 'Rename, deactivate or reactivate an API token',
        security: cookieOrBearer,
        params: TokenParams,
        body: UpdateTokenBody,
        response: { 200: ApiToken, ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request) =>
      tokenJson(await tokens.update(request.user!.id, request.params.id, request.body)),
  );

  app.delete(
    '/tokens/:id',
    {
      preHandler: app.requireScope('tokens:write'),
      schema: {
        tags: ['tokens'],
        summary: 'Delete an API token (it stops working at once)',
        security: cookieOrBearer,
        params: TokenParams,
        response: { 204: Type.Null(), ...errorsFor(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await tokens.remove(request.user!.id, request.params.id);
      return reply.status(204).send(null);
    },
  );
};

export default tokenRoutes;
