// The API process: load configuration, build the app, listen, shut down gracefully.
import { setFlagsFromString } from 'node:v8';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { exitOnStartupError } from './startup-error.ts';

// Memory over a little CPU: V8 lets the old generation grow up to ~4× the live heap before
// a full collection when the process is busy. Under webhook load most of that growth is
// request garbage: peak RSS reached ~290 MB around ~40 MB of live objects. At 2× it stays
// near 200 MB for the same throughput (1.5×: ~175 MB, a little more GC CPU). Measured with
// bench/webhook-ingest. A flag given on the command line wins.
if (!process.execArgv.some((flag) => /^--heap[-_]growing[-_]percent/.test(flag))) {
  setFlagsFromString('--heap-growing-percent=100');
}

let app: Awaited<ReturnType<typeof buildApp>>;
try {
  const config = loadConfig();
  app = await buildApp(config);
  await app.listen({ port: config.port, host: config.host });
  if (config.generatedSecretsFile) {
    app.log.warn(
      { file: config.generatedSecretsFile },
      'no ENCRYPTION_KEYS/SESSION_SECRET given: using locally generated ones kept beside the embedded data',
    );
  }
  app.log.info(
    { database: app.database.kind, queue: app.queue.kind, url: config.publicUrl },
    `Flowfix is listening; open ${config.publicUrl}/admin`,
  );
} catch (err) {
  exitOnStartupError(err, 'server');
}

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // In-flight requests finish; a stuck one cannot hold the process past 10 s.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
