import { Redis } from 'ioredis';
import t from 'tap';
import { TEST_QUEUE_PREFIX, buildTestApp, captureStderr, needsRedis, redisUrl } from './helper.ts';

t.test('health, readiness, setup page, docs, errors', async (t) => {
  const { app } = await buildTestApp(t);

  const health = await app.inject('/healthz');
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });

  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.match(ready.json(), {
    status: 'ready',
    database: { ok: true },
    queue: { ok: true, kind: 'in-process' },
  });

  const admin = await app.inject('/admin');
  t.equal(admin.statusCode, 200);
  t.match(admin.headers['content-type'], /text\/html/);
  t.match(admin.body, /GitHub OAuth/);
  t.match(admin.body, /set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/);
  t.match(admin.body, /http:\/\/flowfix\.test\/api\/v2\/oauth\/github\/callback/);
  t.match(admin.body, /In-process runner/);
  const csp = String(admin.headers['content-security-policy']);
  t.match(csp, /default-src 'self'/);
  t.match(csp, /script-src 'self'/);
  t.notMatch(csp, /unsafe-inline/);
  t.match(csp, /frame-ancestors 'none'/);

  const root = await app.inject('/');
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/admin');

  const css = await app.inject('/assets/app.css');
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /text\/css/);

  const docs = await app.inject('/docs/json');
  t.equal(docs.statusCode, 200);
  t.equal(docs.json().info.title, 'Flowfix API');
  t.ok(docs.json().paths['/healthz']);

  const ui = await app.inject('/docs/');
  t.equal(ui.statusCode, 200);

  const missing = await app.inject('/nope?secret=1');
  t.equal(missing.statusCode, 404);
  t.same(missing.json(), {
    error: 'Not Found',
    code: 'FFX_ERR_NOT_FOUND',
    message: 'Route GET /nope not found',
  });
});

t.test('the error handler hides 5xx details and codes 4xx', async (t) => {
  const { buildApp } = await import('../src/app.ts');
  const { testConfig, testDatabase, captureLogs } = await import('./helper.ts');
  const logs = captureLogs();
  const app = await buildApp(testConfig(), {
    database: await testDatabase(),
    logStream: logs.stream,
  });
  const { errors } = await import('../src/errors.ts');
  app.get('/admin/boom', async () => {
    throw new errors.CONFLICT('<script>x</script> already there');
  });
  app.get('/boom', async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/coded', async () => {
    throw new errors.CONFLICT('already there');
  });
  app.post(
    '/typed',
    {
      schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
    },
    async () => 'ok',
  );
  await app.ready();
  t.teardown(() => app.close());

  const boom = await app.inject('/boom');
  t.equal(boom.statusCode, 500);
  t.same(boom.json(), {
    error: 'Internal Server Error',
    code: 'FFX_ERR_INTERNAL',
    message: 'Internal server error',
  });
  t.match(logs.text(), /hunter2/, 'the detail goes to the log, not the client');

  const page = await app.inject('/admin/boom');
  t.equal(page.statusCode, 409);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, /&lt;script&gt;x&lt;\/script&gt; already there/, 'escaped');
  t.match(page.body, /FFX_ERR_CONFLICT/);

  const coded = await app.inject('/coded');
  t.same(coded.json(), { error: 'Conflict', code: 'FFX_ERR_CONFLICT', message: 'already there' });

  const invalid = await app.inject({ method: 'POST', url: '/typed', payload: { n: 'x' } });
  t.equal(invalid.statusCode, 400);
  t.equal(invalid.json().code, 'FFX_ERR_VALIDATION');

  const badJson = await app.inject({
    method: 'POST',
    url: '/typed',
    payload: '{',
    headers: { 'content-type': 'application/json' },
  });
  t.equal(badJson.statusCode, 400);
  t.equal(badJson.json().code, 'FFX_ERR_BAD_REQUEST');
});

t.test('readiness is 503 when the database is down', async (t) => {
  const { testDatabase } = await import('./helper.ts');
  const database = await testDatabase();
  const broken = { ...database, ping: async () => Promise.reject(new Error('connection refused')) };
  const { app } = await buildTestApp(t, { database: broken });
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), {
    status: 'unavailable',
    database: { ok: false, error: 'connection refused' },
  });
});

t.test(
  'Redis unreachable: one log line per failure, no stack traces, a prompt close',
  async (t) => {
    const { freePort } = await import('./services/repositories/github-fixtures.ts');
    const stderr = captureStderr(t);
    // Nothing listens on that port. With Redis: BullMQ queue and workers, rate limiting.
    const down = `redis://127.0.0.1:${await freePort()}`;
    const { app, logs } = await buildTestApp(t, { env: { REDIS_URL: down } });
    const ready = await app.inject('/readyz');
    t.equal(ready.statusCode, 503);
    t.match(ready.json(), { queue: { ok: false, kind: 'bullmq' } });
    const errorsLogged = () =>
      logs.lines
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown })
        .filter((line) => line.level >= 50);
    const expected = [
      'job queue: Redis error',
      'job worker: Redis error',
      'rate limiting: Redis error',
    ];
    const started = Date.now();
    while (new Set(errorsLogged().map((l) => l.msg)).size < 3 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A few reconnection attempts later, still one line per source.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const logged = errorsLogged();
    t.same([...new Set(logged.map((l) => l.msg))].sort(), expected);
    t.ok(
      logged.every((l) => typeof l.err === 'string' && /ECONNREFUSED/.test(l.err)),
      'the error in words, without a stack',
    );
    const pairs = logged.map((l) => `${l.msg}: ${String(l.err)}`);
    t.equal(new Set(pairs).size, pairs.length, 'repeats of the same failure are not logged again');
    const closing = Date.now();
    await app.close();
    t.ok(Date.now() - closing < 3000, 'closing does not wait for Redis');
    t.same(stderr, [], 'nothing on stderr');
  },
);

t.test('with Redis, each test file queues under its own prefix', needsRedis(), async (t) => {
  const { app, config } = await buildTestApp(t, { env: { REDIS_URL: redisUrl } });
  t.equal(config.queuePrefix, TEST_QUEUE_PREFIX);
  t.match(config.queuePrefix, /^ffx-test-\d+-[0-9a-f]{8}$/, 'not the default ffx');
  t.equal(app.queue.kind, 'bullmq');
  await app.queue.enqueue('prune-data', {}, { jobId: 'prefix-check' });
  const redis = new Redis(redisUrl!);
  t.teardown(() => redis.disconnect());
  const completed = `${config.queuePrefix}:prune-data:completed`;
  const started = Date.now();
  while (
    (await redis.zscore(completed, 'prefix-check')) === null &&
    Date.now() - started < 10_000
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.not(await redis.zscore(completed, 'prefix-check'), null, "this app's worker ran it");
  t.equal(await redis.exists('ffx:prune-data:prefix-check'), 0, 'nothing under the shared prefix');

  // Rate-limit counters live under the same per-deployment prefix, beside the queues.
  const res = await app.inject({ url: '/api/v2/me', remoteAddress: '192.0.2.77' });
  t.equal(res.statusCode, 401);
  const counter = `${config.queuePrefix}-rl:192.0.2.77`;
  t.equal(await redis.get(counter), '1', 'the request was counted under the prefix');
  t.ok((await redis.pttl(counter)) > 0, 'and expires');
  t.equal(await redis.exists('ffx-rl:192.0.2.77'), 0, 'not under the shared ffx-rl: namespace');
});
