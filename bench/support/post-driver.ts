import { Worker } from 'node:worker_threads';

/**
 * A small HTTP POST load generator for bodies that must each be delivered once (or cycled over):
 * `connections` concurrent loops on keep-alive sockets, each taking the next unused body from a
 * shared index — exact where autocannon would hand the same body to several connections. It runs
 * on a worker thread, so it does not share the event loop with the service under test; the
 * worker's code is plain JavaScript (eval), independent of the TypeScript loader.
 */
export interface PostLoad {
  port: number;
  path: string;
  bodies: string[];
  /** One header set per body (e.g. its signature), merged over the content headers. */
  headers: Record<string, string>[];
  connections: number;
  /** Stop taking new bodies after this many seconds (Infinity: until the bodies run out). */
  durationSec: number;
  /** Wrap round to the first body when all have been sent (redeliveries), rather than stop. */
  cycle: boolean;
  /** A response counts as expected only if its status is 200 and its body contains all of these. */
  expectInBody: string[];
  /** Which client posts: node:http's ClientRequest with a keep-alive Agent (the default), or undici's request() (what callback delivery sends with). */
  client?: 'node:http' | 'undici';
}

export interface PostResult {
  /** Requests completed (any outcome). */
  completed: number;
  /** Bodies taken from the list, in order (without cycling: bodies[0 .. sent) were delivered). */
  sent: number;
  /** From the first request to the last response, ms. */
  elapsedMs: number;
  perSec: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  /** Socket errors (no response). */
  errors: number;
  /** CPU the driver's own thread spent, ms per request (Linux; 0 elsewhere). */
  driverCpuMsPerRequest: number;
  /** 200 responses whose body lacked an expected part. */
  unexpected: number;
  firstProblem: string | null;
  /** The bodies ran out before the duration ended (without cycling). */
  ranOut: boolean;
}

/**
 * What every load worker shares (evaluated inside the worker, after `w = workerData`): the running
 * tallies, one response recorded against them, the thread's own CPU, and the result posted back.
 */
export const TALLY_JS = String.raw`
const lat = new Float64Array(w.cycle ? 1 << 22 : w.bodies.length);
let nlat = 0, completed = 0, next = 0, sent = 0, ranOut = false, errors = 0, non2xx = 0, unexpected = 0, firstProblem = null, lastEnd = 0;
const statusCodes = {};

function recordSocketError(message) {
  errors++;
  firstProblem = firstProblem || 'socket error: ' + message;
}

/** One response: status 0 is a socket error (body: its message). */
function recordResponse(status, body, t0, t1) {
  lastEnd = Math.max(lastEnd, t1);
  completed++;
  if (nlat < lat.length) lat[nlat++] = t1 - t0;
  statusCodes[status] = (statusCodes[status] || 0) + 1;
  if (status === 0) return recordSocketError(body);
  if (status < 200 || status > 299) { non2xx++; firstProblem = firstProblem || status + ' ' + body.slice(0, 300); return; }
  if (status !== 200 || !w.expectInBody.every((s) => body.includes(s))) { unexpected++; firstProblem = firstProblem || status + ' ' + body.slice(0, 300); }
}

function threadCpuMs() {
  try {
    const stat = require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch { return 0; }
}

function report(start, cpu0) {
  const elapsedMs = (lastEnd || performance.now()) - start;
  const sorted = lat.subarray(0, nlat).sort();
  let sum = 0;
  for (let k = 0; k < nlat; k++) sum += sorted[k];
  const pct = (p) => (nlat ? sorted[Math.min(nlat - 1, Math.ceil((p / 100) * nlat) - 1)] : 0);
  parentPort.postMessage({
    completed, sent: w.cycle ? sent : next, elapsedMs, perSec: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    meanMs: nlat ? sum / nlat : 0, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99), maxMs: nlat ? sorted[nlat - 1] : 0,
    statusCodes, non2xx, errors, unexpected, firstProblem, ranOut, driverCpuMsPerRequest: completed ? (threadCpuMs() - cpu0) / completed : 0,
  });
}
`;

/** Runs a load worker's code (which ends by calling report) on its own thread; resolves with its result. */
export function runLoadWorker(js: string, load: PostLoad, extra: Record<string, unknown> = {}): Promise<PostResult> {
  if (load.bodies.length !== load.headers.length) throw new Error('one header set per body');
  if (!load.bodies.length) throw new Error('no bodies to post');
  return new Promise<PostResult>((resolve, reject) => {
    const worker = new Worker(js, { eval: true, workerData: { ...load, ...extra } });
    let result: PostResult | null = null;
    worker.once('message', (m: PostResult) => (result = m));
    worker.once('error', reject);
    worker.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load worker exited with code ${code} and no result`))));
  });
}

const WORKER_JS = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const w = workerData;
const bufs = w.bodies.map((b) => Buffer.from(b, 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: w.connections });
${TALLY_JS}

const undici = w.client === 'undici' ? new (require(w.undiciPath).Agent)({ connections: w.connections, pipelining: 1 }) : null;
const origin = 'http://127.0.0.1:' + w.port;
async function postUndici(i) {
  const t0 = performance.now();
  try {
    const res = await undici.request({ origin, path: w.path, method: 'POST', body: bufs[i],
      headers: { 'content-type': 'application/json; charset=utf-8', ...w.headers[i] } });
    const body = await res.body.text();
    return { status: res.statusCode, body, t0, t1: performance.now() };
  } catch (e) {
    return { status: 0, body: String(e && e.message), t0, t1: performance.now() };
  }
}

function post(i) {
  if (undici) return postUndici(i);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      { host: '127.0.0.1', port: w.port, method: 'POST', path: w.path, agent,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': bufs[i].length, ...w.headers[i] } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), t0, t1: performance.now() }));
        res.on('error', (e) => resolve({ status: 0, body: String(e && e.message), t0, t1: performance.now() }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, body: String(e && e.message), t0, t1: performance.now() }));
    req.end(bufs[i]);
  });
}

async function loop(deadline) {
  for (;;) {
    if (performance.now() >= deadline) return;
    if (next >= bufs.length) {
      if (!w.cycle) { ranOut = true; return; }
      next = 0;
    }
    const i = next++;
    sent++;
    const r = await post(i);
    recordResponse(r.status, r.body, r.t0, r.t1);
  }
}

(async () => {
  const cpu0 = threadCpuMs();
  const start = performance.now();
  const deadline = Number.isFinite(w.durationSec) ? start + w.durationSec * 1000 : Infinity;
  await Promise.all(Array.from({ length: w.connections }, () => loop(deadline)));
  agent.destroy();
  if (undici) await undici.close();
  report(start, cpu0);
})().catch((e) => { throw e; });
`;

export function runPostLoad(load: PostLoad): Promise<PostResult> {
  return runLoadWorker(WORKER_JS, load, { undiciPath: load.client === 'undici' ? require.resolve('undici') : null });
}
