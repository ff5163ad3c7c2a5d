import type { Server } from 'node:http';
import { ApiKeyAuthenticator } from './auth/api-key-store';
import type { Config } from './config';
import { syncCourts } from './courts/courts';
import { openDatabase, type Database } from './db';
import { buildApp } from './http/app';
import { logger } from './shared/logger';

export interface RunningService {
  server: Server;
  port: number;
  db: Database;
  stop(): Promise<void>;
}

/** Opens the database (migrating it), applies the court list, and starts listening. */
export async function startService(config: Readonly<Config>): Promise<RunningService> {
  const db = await openDatabase(config);
  await syncCourts(db.knex, config.courts);
  const authenticator = new ApiKeyAuthenticator(db.knex, config.auth.keyCacheTtlMs);
  if (config.db.url) await authenticator.listen(config.db.url);
  const app = buildApp({ knex: db.knex, config, authenticator });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.http.port, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  logger.info('listening', { port, database: db.embedded ? 'embedded' : 'postgres', env: config.env });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing requests in flight');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.http.shutdownGraceMs).unref());
      await Promise.race([closed, grace]);
      server.closeAllConnections();
      await authenticator.close();
      await db.close();
      logger.info('stopped');
    })());
  return { server, port, db, stop };
}
