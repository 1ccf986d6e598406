// The limit harness: the least work a correct webhook receiver can do — verify the HMAC on
// the raw bytes and INSERT the raw payload with postgres.js, one row per request, 2xx after
// the INSERT returns. Full ingestion is measured against this.
import { verify } from '@octokit/webhooks-methods';
import Fastify from 'fastify';
import postgres from 'postgres';

const url = process.env.DATABASE_URL!;
const secret = process.env.BENCH_SECRET!;
const sql = postgres(url, { max: 10, onnotice: () => {} });
await sql`create table if not exists bench_raw (id bigserial primary key, delivery_id text not null, event text not null, payload jsonb not null, received_at timestamptz not null default now())`;

const app = Fastify({ logger: false, bodyLimit: 25 * 1024 * 1024 });
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
  done(null, body),
);
app.post('/hook', async (request, reply) => {
  const raw = request.body as Buffer;
  const signature = request.headers['x-hub-signature-256'];
  if (typeof signature !== 'string' || !(await verify(secret, raw.toString('utf8'), signature))) {
    return reply.status(401).send({ error: 'bad signature' });
  }
  await sql`insert into bench_raw (delivery_id, event, payload) values (${String(request.headers['x-github-delivery'])}, ${String(request.headers['x-github-event'])}, ${raw.toString('utf8')}::jsonb)`;
  return reply.status(202).send({ ok: true });
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.send?.({ ready: true });
setInterval(() => process.send?.({ rss: process.memoryUsage().rss }), 200).unref();
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => sql.end())
    .then(() => process.exit(0));
});
