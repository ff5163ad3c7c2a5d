import fs from 'node:fs';
import type { Knex } from 'knex';

/**
 * CPU seconds spent by this process's main thread (the service under test) and the database
 * server's backends for one database — read from /proc, so only on Linux with the server on
 * this machine (otherwise the figures are null). On a 2-core machine throughput moves with whatever
 * else runs; CPU per request does much less, so it tells where an optimisation actually landed.
 */
export interface CpuSample {
  main: number;
  database: number | null;
  /** The backends summed in `database`. */
  pids: number[];
}

const TICK = 1 / 100; // USER_HZ on Linux

function ticks(statPath: string): number {
  try {
    const stat = fs.readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

async function backendPids(knex: Knex, database: string): Promise<number[]> {
  // Every backend of the database, the one asking included: it is one of the service's pooled connections,
  // so leaving it out would count a different set each time another connection happens to ask.
  const { rows } = await knex.raw("select pid from pg_stat_activity where datname = ? and backend_type = 'client backend' order by pid", [database]);
  return rows.map((r: { pid: number }) => r.pid);
}

export async function sampleCpu(knex: Knex, database: string): Promise<CpuSample> {
  if (process.platform !== 'linux') return { main: 0, database: null, pids: [] };
  const main = ticks(`/proc/${process.pid}/task/${process.pid}/stat`);
  const pids = await backendPids(knex, database);
  const readable = pids.length > 0 && fs.existsSync(`/proc/${pids[0]}/stat`);
  const database_ = readable ? pids.reduce((s, pid) => s + ticks(`/proc/${pid}/stat`), 0) : null;
  return { main: main * TICK, database: database_ === null ? null : database_ * TICK, pids };
}

/** Milliseconds of CPU per request between two samples; for the database, null unless the same backends served throughout (a pool that opened or closed connections in between cannot be counted). */
export function cpuPerRequest(before: CpuSample, after: CpuSample, requests: number) {
  const per = (a: number, b: number) => (requests > 0 ? ((b - a) * 1000) / requests : 0);
  return {
    mainMs: per(before.main, after.main),
    databaseMs: before.database === null || after.database === null || before.pids.join() !== after.pids.join() ? null : per(before.database, after.database),
  };
}
