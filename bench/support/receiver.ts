import { Worker } from 'node:worker_threads';

/**
 * A case system stand-in for the callbacks bench, on its own thread (so it never shares an event
 * loop with the workers or the plain client it is measured against): answers every POST 200, and
 * per request notes when it arrived minus the body's `createdAt` (enqueue-to-delivery latency).
 */
const RECEIVER_JS = String.raw`
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let lat = [], ids = new Set(), dupes = 0, first = 0, last = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      lat.push(now - Date.parse(body.createdAt));
      const id = req.headers['courtpay-delivery'] || body.id;
      if (ids.has(id)) dupes++; else ids.add(id);
    } catch { /* counted as a request anyway */ }
    if (!first) first = now;
    last = now;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'stats') {
    const s = Float64Array.from(lat).sort();
    const pct = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
    parentPort.postMessage({ count: lat.length, distinct: ids.size, dupes, first, last, p50: pct(50), p99: pct(99), max: s.length ? s[s.length - 1] : 0 });
  } else if (m === 'reset') {
    lat = []; ids = new Set(); dupes = 0; first = 0; last = 0;
    parentPort.postMessage({ reset: true });
  } else if (m === 'close') {
    server.closeAllConnections(); server.close(() => process.exit(0));
  }
});
`;

export interface ReceiverStats {
  count: number;
  distinct: number;
  dupes: number;
  first: number;
  last: number;
  p50: number;
  p99: number;
  max: number;
}

export interface BenchReceiver {
  port: number;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<BenchReceiver> {
  const worker = new Worker(RECEIVER_JS, { eval: true });
  let failure: Error | null = null;
  worker.once('error', (e) => (failure = e));
  const next = () => new Promise<any>((resolve, reject) => (failure ? reject(failure) : worker.once('message', resolve)));
  const { port } = await next();
  return {
    port,
    async stats() {
      const p = next();
      worker.postMessage('stats');
      return p;
    },
    async reset() {
      const p = next();
      worker.postMessage('reset');
      await p;
    },
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}
