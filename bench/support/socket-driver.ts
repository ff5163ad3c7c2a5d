import { runLoadWorker, TALLY_JS, type PostLoad, type PostResult } from './post-driver';

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
const { performance } = require('node:perf_hooks');
const w = workerData;
const requests = w.bodies.map((body, i) => {
  const b = Buffer.from(body, 'utf8');
  const headers = { 'content-type': 'application/json; charset=utf-8', ...w.headers[i], host: '127.0.0.1:' + w.port, 'content-length': String(b.length) };
  const head = 'POST ' + w.path + ' HTTP/1.1\r\n' + Object.entries(headers).map(([k, v]) => k + ': ' + v).join('\r\n') + '\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
});
${TALLY_JS}
const HEAD_END = Buffer.from('\r\n\r\n');

function connection(deadline) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: w.port, noDelay: true });
    let buf = Buffer.alloc(0), t0 = 0, status = 0, bodyStart = -1, bodyLength = -1;
    const fail = (msg) => { recordSocketError(msg); socket.destroy(); resolve(); };
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
      recordResponse(status, body, t0, performance.now());
      send();
    });
  });
}

(async () => {
  const cpu0 = threadCpuMs();
  const start = performance.now();
  const deadline = Number.isFinite(w.durationSec) ? start + w.durationSec * 1000 : Infinity;
  await Promise.all(Array.from({ length: w.connections }, () => connection(deadline)));
  report(start, cpu0);
})().catch((e) => { throw e; });
`;

export function runSocketLoad(load: PostLoad): Promise<PostResult> {
  return runLoadWorker(WORKER_JS, load);
}
