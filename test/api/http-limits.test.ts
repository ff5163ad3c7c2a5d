import { expect } from 'chai';
import net from 'node:net';
import { listen, type HttpServer } from '../../src/http/server';
import { testEnv } from '../support/env';

/** A raw client socket: what arrived, and whether the server ended it (and how). */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const seen = { data: '', error: null as NodeJS.ErrnoException | null, closedAt: 0 };
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (seen.data += d));
  socket.on('error', (e) => (seen.error = e));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve(void (seen.closedAt = Date.now()))));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, seen, closed, connected };
}

function request(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`;
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

describe('HTTP limits on slow clients and connections', () => {
  let http: HttpServer;
  const limits = { requestTimeoutMs: 600, headersTimeoutMs: 300, keepAliveTimeoutMs: 300, maxConnections: 3 };

  beforeEach(async () => {
    http = await listen(testEnv().app, { ...testEnv().config.http, port: 0, ...limits });
  });
  afterEach(async () => {
    await http.drain(0);
  });

  it('when a client trickles a request body, then the server answers 408 and closes the connection once the request timeout passes', async () => {
    const c = rawClient(http.port);
    await c.connected;
    const started = Date.now();
    c.socket.write('POST /v1/cases/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    let sent = 1;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(' ');
      sent += 1;
    }, 50);
    await c.closed;
    clearInterval(trickle);
    expect(sent).to.be.lessThan(1000); // cut off while still sending, not after the body was whole
    expect(c.seen.data).to.match(/^HTTP\/1\.1 408 /);
    // Not before the timeout, and nowhere near Node's default of five minutes.
    expect(c.seen.closedAt - started).to.be.within(limits.requestTimeoutMs - 50, limits.requestTimeoutMs + 5000);
  });

  it('when a client trickles its headers, then the connection is closed once the header timeout passes', async () => {
    const c = rawClient(http.port);
    await c.connected;
    const started = Date.now();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let n = 0;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(`X-Slow-${n++}: 1\r\n`);
    }, 50);
    await c.closed;
    clearInterval(trickle);
    expect(c.seen.data).to.match(/^HTTP\/1\.1 408 /);
    expect(c.seen.closedAt - started).to.be.within(limits.headersTimeoutMs - 50, limits.headersTimeoutMs + 5000);
  });

  it('when a keep-alive connection stays idle past the keep-alive timeout, then the server closes it', async () => {
    const c = rawClient(http.port);
    c.socket.write(request('/healthz'));
    await until(() => c.seen.data.includes('"status":"ok"'));
    expect(c.seen.data).to.match(/^HTTP\/1\.1 200 /);
    const answered = Date.now();
    await c.closed;
    expect(c.seen.error).to.equal(null);
    expect(c.seen.closedAt - answered).to.be.within(limits.keepAliveTimeoutMs - 50, limits.keepAliveTimeoutMs + 5000);
  });

  it('when the connection cap is reached, then a further connection is dropped unanswered, and once one closes a new one is served', async () => {
    const held = Array.from({ length: limits.maxConnections }, () => rawClient(http.port));
    for (const c of held) c.socket.write(request('/healthz'));
    await until(() => held.every((c) => c.seen.data.includes('"status":"ok"')));

    const extra = rawClient(http.port);
    extra.socket.on('connect', () => extra.socket.write(request('/healthz')));
    await extra.closed;
    expect(extra.seen.data).to.equal('');
    for (const c of held) expect(c.socket.destroyed).to.equal(false); // those within the cap are untouched

    held[0].socket.end();
    await held[0].closed;
    await until(() => new Promise<boolean>((r) => http.server.getConnections((_e, n) => r(n < limits.maxConnections))));
    const next = rawClient(http.port);
    next.socket.write(request('/healthz'));
    await until(() => next.seen.data.includes('"status":"ok"') || next.socket.destroyed);
    expect(next.seen.data).to.match(/^HTTP\/1\.1 200 /);
    for (const c of [...held, next]) c.socket.destroy();
  });
});
