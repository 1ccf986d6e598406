// Liveness (the process answers) and readiness (its database, and Redis when configured,
// answer). Load balancers route on /readyz; orchestrators restart on /healthz.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const Check = Type.Object({
  ok: Type.Boolean(),
  kind: Type.String(),
  error: Type.Optional(Type.String()),
});
const Ready = Type.Object({ status: Type.String(), database: Check, queue: Check });

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: { tags: ['health'], response: { 200: Ready, 503: Ready } },
    },
    async (_request, reply) => {
      const probe = async (kind: string, fn: () => Promise<void>) => {
        try {
          await withTimeout(fn(), 2000);
          return { ok: true, kind };
        } catch (err) {
          return { ok: false, kind, error: (err as Error).message };
        }
      };
      const [database, queue] = await Promise.all([
        probe(app.database.kind, () => app.database.ping()),
        probe(app.queue.kind, () => app.queue.ping()),
      ]);
      const ok = database.ok && queue.ok;
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'unavailable', database, queue });
    },
  );
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

export default healthRoutes;
