import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freshBenchDatabase } from './db';

const run = promisify(execFile);

/**
 * The machine's write-transaction rate: pgbench's builtin tpcb-like script (one transaction of
 * three UPDATEs, a SELECT and an INSERT) on the same Postgres server, in its own database.
 */
export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number;
  transactions: number;
  failed: number;
  clients: number;
  threads: number;
  scale: number;
  durationSec: number;
  command: string;
}

export class NoPgbenchError extends Error {}

/** The connection arguments (-h -p -U) and environment (PGPASSWORD) for a postgres:// URL. */
function connectionArgs(url: string): { args: string[]; env: NodeJS.ProcessEnv; database: string } {
  const u = new URL(url);
  const args = ['-h', u.hostname || '127.0.0.1', '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres')];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  return { args, env, database: decodeURIComponent(u.pathname.replace(/^\//, '')) };
}

/** pgbench's own database on the same server as `serverUrl` (recreated by initPgbench). */
export function pgbenchUrl(serverUrl: string, name = 'courtpay_bench_pgbench'): string {
  const u = new URL(serverUrl);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** Recreates the database and loads pgbench's tables at the given scale (scale 1 = 100,000 accounts). */
export async function initPgbench(url: string, scale: number): Promise<void> {
  await freshBenchDatabase(url);
  const { args, env, database } = connectionArgs(url);
  try {
    await run('pgbench', [...args, '-i', '-q', '-s', String(scale), database], { env, maxBuffer: 16 << 20 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NoPgbenchError('pgbench is not installed (it comes with the postgresql client packages)');
    throw e;
  }
}

export async function runPgbench(url: string, o: { clients: number; threads: number; durationSec: number; scale: number }): Promise<PgbenchResult> {
  const { args, env, database } = connectionArgs(url);
  const argv = [...args, '-c', String(o.clients), '-j', String(o.threads), '-T', String(o.durationSec), '-b', 'tpcb-like', '-n', database];
  const { stdout } = await run('pgbench', argv, { env, maxBuffer: 16 << 20 });
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(stdout);
    if (!m) throw new Error(`pgbench printed no ${what}:\n${stdout}`);
    return Number(m[1]);
  };
  return {
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/, 'tps'),
    latencyAvgMs: num(/latency average = ([\d.]+) ms/, 'latency average'),
    transactions: num(/number of transactions actually processed: (\d+)/, 'transaction count'),
    failed: /number of failed transactions: (\d+)/.test(stdout) ? num(/number of failed transactions: (\d+)/, 'failed count') : 0,
    clients: o.clients,
    threads: o.threads,
    scale: o.scale,
    durationSec: o.durationSec,
    command: `pgbench ${argv.join(' ')}`,
  };
}
