import { Worker } from 'node:worker_threads';
import type { PostLoad, PostResult } from './post-driver';

/**
 * The same load as runPostLoad, from a leaner client: each connection is a raw keep-alive socket
 * that writes a request prepared in advance (request line, headers and body in one buffer) and reads
 * the response by its Content-Length — what wrk does, where node:http spends more CPU per request
 * than some handlers under test. On a 2-core machine the driver shares the cores with the service and
 * the database, so its own cost shows in the service's figures; this keeps it small. Responses
 * without a Content-Length (chunked) are counted as errors: the service under test always sends one.
 */
const WORKER_JS = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const w = workerData;
const requests = w.bodies.map((body, i) => {
  const b = Buffer.from(body, 'utf8');
  const headers = { 'content-type': 'application/json; charset=utf-8', ...w.headers[i], host: '127.0.0.1:' + w.port, 'content-length': String(b.length) };
  const head = 'POST ' + w.path + ' HTTP/1.1\r\n' + Object.entries(headers).map(([k, v]) => k + ': ' + v).join('\r\n') + '\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
});
const lat = new Float64Array(w.cycle ? 1 << 22 : requests.length);
let nlat = 0, completed = 0, next = 0, sent = 0, ranOut = false, errors = 0, non2xx = 0, unexpected = 0, firstProblem = null, lastEnd = 0;
const statusCodes = {};
const HEAD_END = Buffer.from('\r\n\r\n');

function threadCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch { return 0; }
}

function connection(deadline) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: w.port, noDelay: true });
    let buf = Buffer.alloc(0), t0 = 0, status = 0, bodyStart = -1, bodyLength = -1;
    const fail = (msg) => { errors++; firstProblem = firstProblem || 'socket error: ' + msg; socket.destroy(); resolve(); };
    const send = () => {
      if (performance.now() >= deadline) { socket.end(); return resolve(); }
      if (next >= requests.length) {
        if (!w.cycle) { ranOut = true; socket.end(); return resolve(); }
        next = 0;
      }
      const i = next++;
      sent++;
      t0 = performance.now();
      socket.write(requests[i]);
    };
    socket.on('connect', send);
    socket.on('error', (e) => fail(e.message));
    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (bodyStart < 0) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        status = Number(head.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!m) return fail('response without content-length');
        bodyStart = end + 4;
        bodyLength = Number(m[1]);
      }
      if (buf.length < bodyStart + bodyLength) return;
      const body = buf.toString('utf8', bodyStart, bodyStart + bodyLength);
      buf = buf.subarray(bodyStart + bodyLength);
      bodyStart = -1;
      const t1 = performance.now();
      lastEnd = Math.max(lastEnd, t1);
      completed++;
      if (nlat < lat.length) lat[nlat++] = t1 - t0;
      statusCodes[status] = (statusCodes[status] || 0) + 1;
      if (status < 200 || status > 299) { non2xx++; firstProblem = firstProblem || status + ' ' + body.slice(0, 300); }
      else if (status !== 200 || !w.expectInBody.every((s) => body.includes(s))) { unexpected++; firstProblem = firstProblem || status + ' ' + body.slice(0, 300); }
      send();
    });
  });
}

(async () => {
  const cpu0 = threadCpuMs();
  const start = performance.now();
  const deadline = Number.isFinite(w.durationSec) ? start + w.durationSec * 1000 : Infinity;
  await Promise.all(Array.from({ length: w.connections }, () => connection(deadline)));
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
})().catch((e) => { throw e; });
`;

export function runSocketLoad(load: PostLoad): Promise<PostResult> {
  if (load.bodies.length !== load.headers.length) throw new Error('one header set per body');
  if (!load.bodies.length) throw new Error('no bodies to post');
  return new Promise<PostResult>((resolve, reject) => {
    const worker = new Worker(WORKER_JS, { eval: true, workerData: { ...load } });
    let result: PostResult | null = null;
    worker.once('message', (m: PostResult) => (result = m));
    worker.once('error', reject);
    worker.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load worker exited with code ${code} and no result`))));
  });
}
