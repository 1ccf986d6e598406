// API tokens page (mounted at /admin): create (the token is shown once, in the flash box
// with a copy button), list masked, deactivate / activate, delete.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { decodeTokenCursor, encodeTokenCursor } from '../../services/auth/api-tokens.ts';
import { ALL_SCOPES, SCOPE_DESCRIPTIONS } from '../../services/auth/scopes.ts';

const PAGE_SIZE = 25;
const DAY_MS = 24 * 3600 * 1000;
export const EXPIRY_CHOICES = [
  { value: '', label: 'Never' },
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
];

const tokenPages: FastifyPluginAsyncTypebox = async (app) => {
  const tokens = app.apiTokens;
  const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });

  /** Bad input in a form goes back to the page as a message, not to an error page. */
  const userError = (err: unknown): string | null => {
    const e = err as FastifyError;
    return e.statusCode === 400 || e.statusCode === 403 || e.statusCode === 404 ? e.message : null;
  };

  app.get(
    '/tokens',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })) }),
      },
    },
    async (request, reply) => {
      const { cursor } = request.query;
      const page = await tokens.list(request.user!.id, {
        limit: PAGE_SIZE,
        after: cursor ? decodeTokenCursor(cursor) : undefined,
      });
      return reply.page('admin/tokens', {
        title: 'API tokens',
        tokens: page.items,
        nextUrl: page.next ? `/admin/tokens?cursor=${encodeTokenCursor(page.next)}` : null,
        firstPage: !cursor,
        scopes: ALL_SCOPES.map((s) => ({ name: s, description: SCOPE_DESCRIPTIONS[s] })),
        expiryChoices: EXPIRY_CHOICES,
      });
    },
  );

  app.post(
    '/tokens',
    {
      preHandler: app.requirePageUser,
      schema: {
        hide: true,
        body: Type.Object({
          name: Type.String({ maxLength: 200 }),
          scopes: Type.Optional(Type.Array(Type.String({ maxLength: 50 }), { maxItems: 20 })),
          expires_in_days: Type.Optional(Type.String({ pattern: '^(|[0-9]{1,4})$' })),
        }),
      },
    },
    async (request, reply) => {
      const { name, scopes = [], expires_in_days: days } = request.body;
      try {
        const created = await tokens.create(
          request.user!.id,
          {
            name,
            scopes,
            expiresAt: days ? new Date(Date.now() + Number(days) * DAY_MS) : null,
          },
          request.auth!.scopes,
        );
        reply.flash(
          'success',
          `Token “${created.view.name}” created. Copy it now: it will not be shown again.`,
          created.token,
        );
      } catch (err) {
        const message = userError(err);
        if (message === null) throw err;
        reply.flash('error', `The token was not created: ${message}.`);
      }
      return reply.redirect('/admin/tokens', 303);
    },
  );

  for (const action of ['activate', 'deactivate', 'delete'] as const) {
    app.post(
      `/tokens/:id/${action}`,
      { preHandler: app.requirePageUser, schema: { hide: true, params: Id } },
      async (request, reply) => {
        const userId = request.user!.id;
        try {
          if (action === 'delete') {
            await tokens.remove(userId, request.params.id);
            reply.flash('success', 'Token deleted: it no longer works.');
          } else {
            const view = await tokens.update(userId, request.params.id, {
              active: action === 'activate',
            });
            reply.flash(
              'success',
              action === 'activate'
                ? `Token “${view.name}” is active again.`
                : `Token “${view.name}” is deactivated: it no longer works until reactivated.`,
            );
          }
        } catch (err) {
          const message = userError(err);
          if (message === null) throw err;
          reply.flash('error', message);
        }
        return reply.redirect('/admin/tokens', 303);
      },
    );
  }
};

export default tokenPages;
