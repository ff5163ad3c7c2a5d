import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

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
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** A folder path, or 'memory://' for a throwaway database. */
  dataDir: string;
  /** A tarball from `dumpDataDir` to start from (tests use one migrated template). */
  loadDataDir?: Blob;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const inMemory = opts.dataDir.startsWith('memory://');
  if (!inMemory) {
    fs.mkdirSync(path.dirname(path.resolve(opts.dataDir)), { recursive: true });
    assertNotInUse(opts.dataDir);
  }
  const pglite = await PGlite.create(inMemory ? undefined : opts.dataDir, opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  const server = new PGLiteSocketServer({ db: pglite, port: 0, host: '127.0.0.1' });
  await server.start();
  const address = (server as unknown as { server: { address(): { port: number } } }).server.address();
  const lock = inMemory ? null : lockFile(opts.dataDir);
  if (lock) fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, port: address.port }));
  return {
    port: address.port,
    dataDir: opts.dataDir,
    pglite,
    async stop() {
      await server.stop();
      await pglite.close();
      if (lock) fs.rmSync(lock, { force: true });
    },
  };
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
