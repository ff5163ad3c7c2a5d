import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded';
import { migrateToLatest } from './migrate';

// bigint columns (fen) come back as JS numbers: amounts are bounded far below 2^53 by CHECK constraints.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// dates stay the calendar strings they are; a time zone must never shift a due date.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export type Db = Knex;
export type Tx = Knex.Transaction;
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

export async function openDatabase(cfg: Pick<Config, 'db'>, opts: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | null = null;
  let connection: Knex.PgConnectionConfig | string;
  let pool = { ...cfg.db.pool };
  if (cfg.db.url) {
    connection = cfg.db.url;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: opts.embeddedDir ?? cfg.db.embeddedDir, loadDataDir: opts.loadDataDir });
    connection = { host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres' };
    pool = { min: 0, max: 1 };
  }
  const knex = knexFactory({
    client: 'pg',
    connection,
    pool: {
      ...pool,
      acquireTimeoutMillis: 10000,
      // The named prepared statements (preparedQuery) are planned once per connection and reused: their
      // lookups are by key, so a generic plan is right, and re-planning each call is what they exist to avoid.
      // Unnamed statements (everything else) are planned per call regardless.
      afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
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
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  return db;
}

/** Runs fn in a transaction, joining the caller's transaction when one is passed (never nesting). */
export async function inTransaction<T>(db: Queryable, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if ((db as Tx).isTransaction) return fn(db as Tx);
  return (db as Knex).transaction(fn);
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
