import { expect } from 'chai';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { startService } from '../../src/service';
import { keyFor, testConfig, testEnv } from '../support/env';

describe('graceful shutdown', () => {
  it('when stopped with a request in flight, then that request completes, new connections are refused and the pool closes', async function () {
    if (testEnv().embedded) this.skip(); // a second service would need the embedded database the test process already holds
    const service = await startService(testConfig({ http: { port: 0 } }));
    const base = `http://127.0.0.1:${service.port}`;
    const received = new Promise((r) => service.server.once('request', r));
    const inFlight = fetch(`${base}/readyz`);
    await received; // the request is being handled (its database check is under way) when the stop begins
    const stopped = service.stop();
    const res = await inFlight;
    expect(res.status).to.equal(200);
    await stopped;
    let refused = false;
    try {
      await fetch(`${base}/healthz`);
    } catch {
      refused = true;
    }
    expect(refused).to.equal(true);
    let poolClosed = false;
    try {
      await service.db.knex.raw('select 1');
    } catch {
      poolClosed = true;
    }
    expect(poolClosed).to.equal(true);
  });
});

/** `npm start` as an operator runs it, on the test run's database, with its output at hand. */
function npmStart(databaseUrl: string) {
  const child = spawn('npm', ['start'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'info' },
    detached: true, // its own process group, so a failed test can end npm and the service together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const printed = async (pattern: RegExp) => {
    await until(`npm start to print ${pattern}`, () => {
      if (child.exitCode !== null && !pattern.test(out.stdout)) throw new Error(`npm start exited ${child.exitCode}: ${out.stdout}\n${out.stderr}`);
      return pattern.test(out.stdout);
    });
    return pattern.exec(out.stdout)!;
  };
  return { child, out, exited, printed };
}

/** A raw keep-alive connection: every byte the server sent, and how it ended. */
function keepAliveConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const seen = { data: '', error: null as Error | null, ended: false };
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (seen.data += d));
  socket.on('error', (e) => (seen.error = e));
  socket.on('end', () => (seen.ended = true));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const get = (p: string, headers: Record<string, string> = {}) =>
    socket.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  return { socket, seen, closed, get };
}

/** Waits for what the test expects, failing (so the lock is released and the service ended) rather than hanging if it never comes. */
async function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), 30000)));
  try {
    return await Promise.race([p, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  await within(what, (async () => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  })());
}

describe('graceful shutdown of npm start', () => {
  it('when SIGTERM arrives with keep-alive clients, then the busy one gets its answer with Connection: close, the idle one is closed cleanly, new connections are refused, and the process exits 0 within the grace', async function () {
    if (testEnv().embedded) this.skip(); // the request is held in flight by a lock in the test's database: Postgres only
    this.timeout(90000);
    const key = await keyFor('case_system');
    const service = npmStart(testEnv().config.db.url!);
    const lock = await testEnv().knex.transaction();
    try {
      const port = Number((await service.printed(/courtpay is running at http:\/\/localhost:(\d+)/))[1]);
      const idle = keepAliveConnection(port);
      idle.get('/healthz');
      await until('the first answer', () => idle.seen.data.includes('"status":"ok"'));
      const answeredBefore = idle.seen.data;

      // The busy connection's request waits on its key lookup, which waits on this lock.
      await lock.raw('lock table api_keys in access exclusive mode');
      const busy = keepAliveConnection(port);
      busy.get('/v1/courts', { authorization: `Bearer ${key}` });
      await until('the request to wait on the lock', async () => {
        const { rows } = await testEnv().knex.raw(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%api_keys%'`);
        return rows.length > 0;
      });

      service.child.kill('SIGTERM'); // to npm, as an operator or a process manager sends it
      await service.printed(/shutting down/);
      let refused: string | undefined;
      await within('a new connection to be refused', new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', (e: NodeJS.ErrnoException) => resolve(void (refused = e.code)));
        s.on('connect', () => resolve(void s.destroy()));
      }));
      expect(refused).to.equal('ECONNREFUSED');

      // The idle connection is closed at once and cleanly: no reset, nothing more sent, before any request of ours.
      await within('the idle connection to be closed', idle.closed);
      expect(idle.seen).to.deep.include({ ended: true, error: null, data: answeredBefore });

      await lock.commit();
      await within('the busy connection to be answered and closed', busy.closed);
      expect(busy.seen.error).to.equal(null);
      expect(busy.seen.ended).to.equal(true);
      expect(busy.seen.data).to.match(/^HTTP\/1\.1 200 /).and.match(/\r\nconnection: close\r\n/i).and.include('"data"');

      expect(await within('the process to exit', service.exited)).to.equal(0);
      expect(service.out.stderr).not.to.include('shutdown grace over');
      expect(service.out.stdout).to.include('"message":"stopped"');
    } finally {
      if (!lock.isCompleted()) await lock.rollback();
      if (service.child.exitCode === null) process.kill(-service.child.pid!, 'SIGKILL');
    }
  });
});
