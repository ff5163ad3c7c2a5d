import autocannon from 'autocannon';

export interface LoadTarget {
  title: string;
  /** Origin, e.g. http://127.0.0.1:1234 */
  origin: string;
  /** Paths to cycle over (already URL-encoded); every connection walks this list in order, round and round. */
  paths: string[];
  headers?: Record<string, string>;
}

export interface LoadOptions {
  duration: number;
  connections: number;
  workers: number;
}

export interface LoadSummary {
  title: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

/**
 * One autocannon run. With workers ≥ 1 the load generator runs on its own thread, so it does not
 * share the event loop with the service under test; requests are then a plain list of paths
 * (functions cannot cross into autocannon's workers).
 */
export async function runLoad(target: LoadTarget, opts: LoadOptions): Promise<LoadSummary> {
  const result = await autocannon({
    title: target.title,
    url: target.origin,
    connections: opts.connections,
    duration: opts.duration,
    ...(opts.workers > 0 ? { workers: opts.workers } : {}),
    headers: target.headers,
    requests: target.paths.map((path) => ({ method: 'GET' as const, path })),
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]));
  return {
    title: target.title,
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/** Warm up (results discarded), then measure. */
export async function warmAndMeasure(target: LoadTarget, opts: LoadOptions & { warmup: number }): Promise<LoadSummary> {
  if (opts.warmup > 0) await runLoad({ ...target, title: `${target.title} (warm-up)` }, { ...opts, duration: opts.warmup });
  return runLoad(target, opts);
}

export function printTable(rows: LoadSummary[]): void {
  const fmt = (r: LoadSummary) => [r.title, r.reqPerSec.toFixed(1), r.p50Ms.toFixed(1), r.p99Ms.toFixed(1), String(r.total), String(r.non2xx), String(r.errors + r.timeouts)];
  const table = [['endpoint', 'req/s avg', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors'], ...rows.map(fmt)];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

export function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
