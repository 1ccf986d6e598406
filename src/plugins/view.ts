// Server-rendered pages: @fastify/view with Eta, one layout, templates under views/.
// Eta escapes every `<%= %>` output; raw output (`<%~ %>`) is only for markup we build.
// reply.page() renders a template with what every page needs (user, flash, CSRF token);
// reply.flash() leaves a one-time message for the next page, in a signed cookie.
import view from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { VIEWS_DIR } from '../paths.ts';

const FLASH_COOKIE = 'ffx_flash';

export interface Flash {
  kind: 'info' | 'success' | 'error';
  message: string;
  /** Shown once, in a copyable box (new API token). */
  secret?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Filled by plugins (auth adds user and csrfToken) for every rendered page. */
    pageLocals: Record<string, unknown>;
  }
  interface FastifyReply {
    page(template: string, data?: Record<string, unknown>): Promise<FastifyReply>;
    flash(kind: Flash['kind'], message: string, secret?: string): FastifyReply;
  }
}

export default fp(
  async (app) => {
    const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true, useWith: false });
    await app.register(view, {
      engine: { eta },
      root: VIEWS_DIR,
      viewExt: 'eta',
      layout: 'layout',
      defaultContext: { appName: 'Flowfix' },
    });
    app.decorateRequest('pageLocals', null as unknown as Record<string, unknown>);
    app.addHook('onRequest', async (request) => {
      request.pageLocals = {};
    });
    app.decorateReply(
      'flash',
      function (this: FastifyReply, kind: Flash['kind'], message: string, secret?: string) {
        const flash: Flash = secret === undefined ? { kind, message } : { kind, message, secret };
        return this.setCookie(FLASH_COOKIE, JSON.stringify(flash), {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          secure: 'auto',
          signed: true,
          maxAge: 60,
        });
      },
    );
    app.decorateReply('page', async function (this: FastifyReply, template: string, data = {}) {
      let flash: Flash | null = null;
      const raw = this.request.cookies[FLASH_COOKIE];
      if (raw) {
        const unsigned = this.request.unsignCookie(raw);
        if (unsigned.valid && unsigned.value) {
          try {
            flash = JSON.parse(unsigned.value) as Flash;
          } catch {
            flash = null;
          }
        }
        this.clearCookie(FLASH_COOKIE, { path: '/' });
      }
      this.header('cache-control', 'no-store');
      return this.view(template, {
        path: this.request.url.split('?')[0],
        user: null,
        csrfToken: '',
        ...this.request.pageLocals,
        ...data,
        flash,
      });
    });
  },
  { name: 'ffx-view', dependencies: ['@fastify/cookie'] },
);
