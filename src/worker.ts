// The worker process: runs the BullMQ job processors, nothing else. Needs REDIS_URL
// (without Redis, jobs run inside the API process) and DATABASE_URL (PGlite is single-process).
import pino from 'pino';
import { loadConfig, ConfigError } from './config.ts';
import { createSecretBox } from './crypto/secret-box.ts';
import { openDatabase } from './db/client.ts';
import { createGitHubAccess } from './github/github-access.ts';
import { createBullmqQueue, startBullmqWorkers } from './jobs/bullmq-queue.ts';
import { createProcessors } from './jobs/processors.ts';
import { loggerOptions } from './logger.ts';
import { createOutboxDispatcher } from './services/outbox/dispatcher.ts';
import { exitOnStartupError } from './startup-error.ts';

try {
  const config = loadConfig();
  if (!config.redisUrl)
    throw new ConfigError(
      'REDIS_URL',
      'is required for a separate worker process; without it the API process runs the jobs itself',
    );
  if (!config.databaseUrl)
    throw new ConfigError(
      'DATABASE_URL',
      'is required for a separate worker process: the embedded database belongs to one process',
    );
  const log = pino(loggerOptions(config.logLevel));
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const secretBox = createSecretBox(config.keyring);
  const processors = createProcessors({
    db: database.db,
    config,
    secretBox,
    log,
    github: createGitHubAccess({ db: database.db, config, secretBox, log }),
  });
  const prefix = config.queuePrefix;
  const workers = startBullmqWorkers(config.redisUrl, processors, log, { prefix });
  // Workers also move outbox rows onto the queue (several processes may: rows are claimed
  // with SKIP LOCKED), so jobs flow even when the API runs with RUN_WORKERS=false.
  const producer = createBullmqQueue(config.redisUrl, { log, prefix });
  const outbox = createOutboxDispatcher({
    db: database.db,
    queue: producer,
    log: log.child({ component: 'outbox' }),
  });
  outbox.start();
  log.info({ queues: workers.workers.map((w) => w.name) }, 'worker started');
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'worker shutting down: finishing active jobs');
      const force = setTimeout(() => process.exit(1), 30_000);
      force.unref();
      void outbox
        .stop()
        .then(() => producer.close())
        .then(() => workers.close())
        .then(() => database.close())
        .then(() => process.exit(0));
    });
  }
} catch (err) {
  exitOnStartupError(err, 'worker');
}
