import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { logger } from '../shared/logger';
import { dropTemplate, readTemplate, saveTemplate, type TemplateKind } from './embedded-template';

/**
 * The embedded database: PGlite (Postgres compiled to WASM) in a local data folder, served on
 * a loopback socket so the ordinary `pg` driver and Knex talk to it exactly as to a server.
 * PGlite is one session: the pool must hold a single connection, and code must always pass
 * the transaction it is in.
 */
export interface EmbeddedPostgres {
  port: number;
  dataDir: string;
  pglite: PGlite;
  /** Call once the migrations have run: a database that was new then becomes the migrated template. */
  migrated(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** A folder path, or 'memory://' for a throwaway database. */
  dataDir: string;
  /** A tarball from `dumpDataDir` to start from (tests use one migrated template). */
  loadDataDir?: Blob;
  /** The migrations' fingerprint when the caller migrates to latest next: a new database may start from the template migrated as far. */
  migrations?: string;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const inMemory = opts.dataDir.startsWith('memory://');
  if (!inMemory) {
    fs.mkdirSync(path.dirname(path.resolve(opts.dataDir)), { recursive: true });
    assertNotInUse(opts.dataDir);
  }
  const { pglite, from } = await createPGlite(inMemory ? undefined : opts.dataDir, opts);
  const server = new PGLiteSocketServer({ db: pglite, port: 0, host: '127.0.0.1' });
  await server.start();
  const address = (server as unknown as { server: { address(): { port: number } } }).server.address();
  const lock = inMemory ? null : lockFile(opts.dataDir);
  if (lock) fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, port: address.port }));
  return {
    port: address.port,
    dataDir: opts.dataDir,
    pglite,
    async migrated() {
      if (from !== 'initdb' || !opts.migrations) return;
      await saveTemplate({ kind: 'migrated', migrations: opts.migrations }, pglite).catch((e: Error) => logger.warn('the migrated embedded database template could not be saved', { err: e.message }));
    },
    async stop() {
      await server.stop();
      await pglite.close();
      if (lock) fs.rmSync(lock, { force: true });
    },
  };
}

/**
 * A new database (in memory, or a data folder not there yet or empty) starts from a template
 * (embedded-template.ts): the migrated one when the caller migrates next and there is one, else
 * the initdb one; with neither, initdb runs and its result becomes the initdb template.
 */
async function createPGlite(dataDir: string | undefined, opts: EmbeddedOptions): Promise<{ pglite: PGlite; from: 'folder' | 'given' | 'migrated' | 'initdb' }> {
  if (opts.loadDataDir) return { pglite: await PGlite.create(dataDir, { loadDataDir: opts.loadDataDir }), from: 'given' };
  const fresh = dataDir === undefined || !fs.existsSync(dataDir) || fs.readdirSync(dataDir).length === 0;
  if (!fresh) return { pglite: await PGlite.create(dataDir), from: 'folder' };
  const kinds: [TemplateKind, 'migrated' | 'initdb'][] = [[{ kind: 'initdb' }, 'initdb']];
  if (opts.migrations) kinds.unshift([{ kind: 'migrated', migrations: opts.migrations }, 'migrated']);
  for (const [kind, from] of kinds) {
    const template = readTemplate(kind);
    if (!template) continue;
    try {
      return { pglite: await PGlite.create(dataDir, { loadDataDir: template }), from };
    } catch (e) {
      logger.warn('an embedded database template could not be loaded; dropped', { template: kind.kind, err: (e as Error).message });
      dropTemplate(kind);
      if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const pglite = await PGlite.create(dataDir);
  await saveTemplate({ kind: 'initdb' }, pglite).catch((e: Error) => logger.warn('the embedded database template could not be saved', { err: e.message }));
  return { pglite, from: 'initdb' };
}

function lockFile(dataDir: string): string {
  return `${path.resolve(dataDir)}.lock`;
}

/** PGlite cannot share a data folder between processes: say so plainly instead of corrupting it. */
function assertNotInUse(dataDir: string): void {
  const lock = lockFile(dataDir);
  if (!fs.existsSync(lock)) return;
  const { pid } = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number };
  try {
    process.kill(pid, 0);
  } catch {
    fs.rmSync(lock, { force: true });
    return;
  }
  throw new Error(
    `the embedded database in ${dataDir} is in use by another courtpay process (pid ${pid}); stop it first, or set DATABASE_URL to use a Postgres server`,
  );
}
