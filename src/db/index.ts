import knexFactory, { KnexTimeoutError, type Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded';
import { logger } from '../shared/logger';
import { migrateToLatest, migrationsFingerprint } from './migrate';

// bigint columns (fen) come back as JS numbers: amounts are bounded far below 2^53 by CHECK constraints.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// dates stay the calendar strings they are; a time zone must never shift a due date.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export type Queryable = Knex | Knex.Transaction;

export interface Database {
  knex: Knex;
  embedded: EmbeddedPostgres | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  migrate?: boolean;
  /** For tests: start the embedded database from this dumped data folder. */
  loadDataDir?: Blob;
  embeddedDir?: string;
}

/** Knex's own notices (a failed connection attempt, each one, during an outage) as log lines like any other, without stacks. */
const knexNotice = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
  logger[level]('database client', { detail: String(message instanceof Error ? message.message : message).split('\n')[0] });
const knexLog = { warn: knexNotice('warn'), error: knexNotice('error'), deprecate: (method: string, instead: string) => knexNotice('warn')(`${method} is deprecated; use ${instead}`), debug: knexNotice('debug') };

/**
 * A FATAL error (the session terminated by an administrator, 57P01, or the server shutting down)
 * fails the query it interrupts before the socket closes, so the connection would go back to the
 * pool looking healthy and fail the next request too. Knex discards a connection it has marked
 * disposed; mark it as soon as the server says the session is over.
 */
function retireOnFatal(conn: pg.Client): void {
  const wire = (conn as unknown as { connection?: { on?: (event: string, fn: (msg: { severity?: string; code?: string }) => void) => void } }).connection;
  wire?.on?.('errorMessage', (msg) => {
    if (msg.severity === 'FATAL') (conn as unknown as { __knex__disposed?: unknown }).__knex__disposed ??= `session ended by the server (${msg.code})`;
  });
}

export async function openDatabase(cfg: Pick<Config, 'db'>, opts: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | null = null;
  let connection: Knex.PgConnectionConfig | string;
  const { acquireTimeoutMs, ...sized } = cfg.db.pool;
  let pool = sized;
  if (cfg.db.url) {
    connection = cfg.db.url;
  } else {
    const migrations = opts.migrate !== false ? migrationsFingerprint() : undefined;
    embedded = await startEmbeddedPostgres({ dataDir: opts.embeddedDir ?? cfg.db.embeddedDir, loadDataDir: opts.loadDataDir, migrations });
    connection = { host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres' };
    pool = { min: 0, max: 1 };
  }
  const knex = knexFactory({
    client: 'pg',
    connection,
    log: knexLog,
    pool: {
      ...pool,
      // Waiting longer for a connection than a client waits for an answer helps no one: the request gets a 503 instead.
      acquireTimeoutMillis: acquireTimeoutMs,
      // The named prepared statements (preparedQuery) are planned once per connection and reused: their
      // lookups are by key, so a generic plan is right, and re-planning each call is what they exist to avoid.
      // Unnamed statements (everything else) are planned per call regardless.
      afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
        retireOnFatal(conn);
        conn.query('set plan_cache_mode = force_generic_plan').then(() => done(null, conn), (e: Error) => done(e, conn));
      },
    },
  });
  const db: Database = {
    knex,
    embedded,
    async close() {
      await knex.destroy();
      if (embedded) await embedded.stop();
    },
  };
  if (opts.migrate !== false) {
    try {
      await migrateToLatest(knex);
      await embedded?.migrated();
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  return db;
}

/**
 * A named prepared statement on a pooled connection, for hot read paths: Postgres parses and
 * plans it once per connection instead of on every call (planning costs more than running a
 * one-row index lookup). `text` uses $1… placeholders. Not for use inside a transaction.
 */
export async function preparedQuery<T>(knex: Knex, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = knex.client as { acquireConnection(): Promise<pg.ClientBase>; releaseConnection(c: pg.ClientBase): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    return (await conn.query({ name, text, values })).rows as T[];
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * The database's own message of a failed query: knex puts the statement in front of it
 * ("<sql> - <message>"), which would crowd out the message where it is kept (a failed event's
 * last_error) and says nothing to whoever reads it there.
 */
export function databaseMessage(err: Error & { code?: unknown }): string {
  const at = err.message.lastIndexOf(' - ');
  return typeof err.code === 'string' && at >= 0 ? err.message.slice(at + 3) : err.message;
}

/**
 * The signs of a lost database rather than a failed statement: the connection refused, reset or
 * ended under a query; no connection free within the pool's acquire timeout; the server shutting
 * down or not yet accepting (57P01-57P03); any connection exception (SQLSTATE class 08); too many
 * connections (53300). Each passes when the database is back, so they are answered 503, not 500.
 */
const LOST_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const LOST_CONNECTION_MESSAGE = /Connection terminated|Client has encountered a connection error|Connection ended unexpectedly|Client was closed and is not queryable/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof KnexTimeoutError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (LOST_CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && LOST_CONNECTION_MESSAGE.test(message)) return true;
  }
  return false;
}
