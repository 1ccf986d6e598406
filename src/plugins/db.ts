// Decorates app.database (the handle: kind, ping, close) and app.db (Drizzle). Opens the
// database unless the caller passed one in (tests), migrates on start when configured.
import fp from 'fastify-plugin';
import { openDatabase, type DatabaseHandle, type Db } from '../db/client.ts';

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseHandle;
    db: Db;
  }
}

export interface DbPluginOptions {
  database?: DatabaseHandle | undefined;
}

export default fp<DbPluginOptions>(
  async (app, opts) => {
    const { config } = app;
    const owned = opts.database === undefined;
    const database =
      opts.database ??
      (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
    if (owned && config.migrateOnStart) await database.migrate();
    app.decorate('database', database);
    app.decorate('db', database.db);
    if (owned) app.addHook('onClose', async () => database.close());
  },
  { name: 'ffx-db', dependencies: ['ffx-config'] },
);
