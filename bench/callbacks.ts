/**
 * `npm run bench -- callbacks`: the callback outbox against a local receiver on real Postgres.
 * 1. backlog (--rounds times, 3 by default; the median is judged): 10,000 messages queued (through emitCallback, as the domain code queues them), then
 *    2 workers (each with its own pool, as two instances would be) drain them: messages/s delivered;
 * 2. live: the 2 workers running while messages are queued at half the backlog rate, one per
 *    transaction as changes happen: p50/p99 enqueue-to-delivery latency;
 * 3. ceiling: a plain keep-alive HTTP client posting the same 10,000 bodies to the same receiver
 *    with the same concurrency (2 workers × batchSize, the workers' limit of requests in flight),
 *    once with node:http and once with undici (the client the workers send with); the faster is
 *    the ceiling. Target: backlog rate ≥ 50% of the ceiling.
 * --batch defaults to config.callbacks.batchSize, the configuration recommended for production.
 */
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { publicId } from '../src/auth/keys';
import { CALLBACK_TYPES, emitCallback, type CallbackType } from '../src/callbacks/emit';
import { callbackData } from '../src/callbacks/payload';
import { signatureHeader } from '../src/callbacks/signature';
import { startCallbackWorker, type CallbackWorker } from '../src/callbacks/worker';
import { loadConfig, type Config } from '../src/config';
import { syncCourts } from '../src/courts/courts';
import { openDatabase, type Database } from '../src/db';
import { setLogLevel } from '../src/shared/logger';
import { benchDatabaseOrNull } from './support/db';
import { runPostLoad, type PostResult } from './support/post-driver';
import { startReceiver, type BenchReceiver, type ReceiverStats } from './support/receiver';
import { seedCasesAndInvoices } from './support/seed';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/courtpay_bench_callbacks';
const TARGET_RATIO = 0.5;
const EVENTS: CallbackType[] = ['invoice.issued', 'invoice.partially_paid', 'invoice.paid', 'invoice.overdue'];

function parse(args: string[]) {
  const defaultBatch = loadConfig({ env: { NODE_ENV: 'test' } }).callbacks.batchSize;
  const { values } = parseArgs({
    args,
    strict: true,
    // --batch defaults to config.callbacks.batchSize (config/default.json): the bench runs what we recommend for production.
    options: { messages: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' }, batch: { type: 'string', default: String(defaultBatch) }, poll: { type: 'string', default: '100' } },
  });
  const num = (k: keyof typeof values, min: number) => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer ≥ ${min}, got "${values[k]}"`);
    return n;
  };
  return { messages: num('messages', EVENTS.length), rounds: num('rounds', 1), workers: num('workers', 1), batch: num('batch', 1), poll: num('poll', 50), defaultBatch };
}

/** `count` events over distinct invoices, EVENTS.length per invoice, queued `perTx` to a transaction, `parallel` transactions at a time. */
async function enqueue(knex: Knex, config: Readonly<Config>, invoiceIds: number[], count: number, perTx: number, parallel: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({ type: EVENTS[i % EVENTS.length], invoiceId: invoiceIds[Math.floor(i / EVENTS.length)] }));
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < events.length) {
      const chunk = events.slice(next, (next += perTx));
      await knex.transaction(async (tx) => {
        for (const e of chunk) await emitCallback(tx, e, callbackData(config));
      });
    }
  }));
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function waitFor(receiver: BenchReceiver, count: number, timeoutMs: number): Promise<ReceiverStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await receiver.stats();
    if (s.count >= count || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function run(args: string[]): Promise<number> {
  const o = parse(args);
  const url = await benchDatabaseOrNull(process.env.DATABASE_URL || DEFAULT_URL);
  if (!url) return 1;
  const config: Readonly<Config> = loadConfig({
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'error' },
    overrides: { callbacks: { batchSize: o.batch, pollIntervalMs: o.poll, timeoutMs: 5000 } },
  });
  setLogLevel(config.log.level);
  const dbs: Database[] = [];
  let receiver: BenchReceiver | null = null;
  let workers: CallbackWorker[] = [];
  try {
    const db = await openDatabase(config);
    dbs.push(db);
    const knex = db.knex;
    await syncCourts(knex, config.courts);
    const perRound = Math.ceil(o.messages / EVENTS.length);
    const invoicesNeeded = perRound * (o.rounds + 1); // each backlog round and the live phase use distinct invoices
    await seedCasesAndInvoices(knex, config, { cases: Math.ceil(invoicesNeeded / 3), invoices: invoicesNeeded });
    const invoiceIds = (await knex('invoices').orderBy('id').limit(invoicesNeeded).pluck('id')) as number[];
    receiver = await startReceiver();
    const [endpoint] = await knex('callback_endpoints')
      .insert({ public_id: publicId('cbe'), url: `http://127.0.0.1:${receiver.port}/callbacks`, all_courts: true, event_types: [...CALLBACK_TYPES], created_by: 'system:bench' })
      .returning('id');
    await knex('callback_endpoint_secrets').insert({ endpoint_id: endpoint.id, secret: 'cbsec_bench_0123456789abcdefghijklmnopqrstuv' });
    const workerDbs = await Promise.all(Array.from({ length: o.workers }, () => openDatabase({ db: { ...config.db, pool: { ...config.db.pool, min: 0, max: 3 } } }, { migrate: false })));
    dbs.push(...workerDbs);
    const startWorkers = () => (workers = workerDbs.map((w) => startCallbackWorker(w.knex, config)));
    const stopWorkers = async () => {
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
    };
    console.log(`callbacks bench: ${o.messages} messages, ${o.workers} workers × batch ${o.batch} (callbacks.batchSize: requests in flight per worker; default ${o.defaultBatch} is config/default.json's), poll ${o.poll} ms, timeout 5000 ms, receiver on its own thread`);
    console.log('worker: pipelined — one round trip at a time records what finished and claims as much as there is room for, while claimed chains (an invoice\'s due messages, in order) are sent');

    // 1. backlog, --rounds times (fresh invoices each): one drain of 10k messages lasts about a second
    // on a 2-core machine, so a single one moves with whatever else runs; the median is judged.
    const drains: { rate: number; stats: ReceiverStats; delivered: number }[] = [];
    for (let r = 0; r < o.rounds; r++) {
      await receiver.reset();
      const t0 = Date.now();
      await enqueue(knex, config, invoiceIds.slice(r * perRound, (r + 1) * perRound), o.messages, 50, 4);
      const enqueueSec = (Date.now() - t0) / 1000;
      console.log(`round ${r + 1}: queued ${o.messages} messages in ${enqueueSec.toFixed(1)} s (${(o.messages / enqueueSec).toFixed(0)} emits/s, 50 per transaction, 4 at a time)`);
      const drainStart = Date.now();
      startWorkers();
      const stats = await waitFor(receiver, o.messages, 300_000);
      const rate = stats.count / ((stats.last - drainStart) / 1000);
      await stopWorkers();
      const [{ n }] = await knex('callback_messages').where({ status: 'delivered' }).count<{ n: string }[]>('* as n');
      drains.push({ rate, stats, delivered: Number(n) });
      console.log(`round ${r + 1}: drained at ${rate.toFixed(0)} messages/s`);
    }
    const backlog = drains[drains.length - 1].stats;
    const delivered = drains[drains.length - 1].delivered;
    const backlogRate = median(drains.map((d) => d.rate));

    // 2. live, at half the backlog rate
    await receiver.reset();
    startWorkers();
    const liveRate = Math.max(10, Math.floor(backlogRate / 2));
    const liveIds = invoiceIds.slice(o.rounds * perRound);
    const liveCount = Math.min(o.messages, liveRate * 15);
    const t = Date.now();
    let queued = 0;
    // 8 emitters, each one change per transaction, paced to liveRate (they fall behind rather than pile up).
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (queued < liveCount) {
        if (queued >= ((Date.now() - t) / 1000) * liveRate) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        const i = queued++;
        await knex.transaction((tx) => emitCallback(tx, { type: EVENTS[i % EVENTS.length], invoiceId: liveIds[Math.floor(i / EVENTS.length)] }, callbackData(config)));
      }
    }));
    const achievedRate = liveCount / ((Date.now() - t) / 1000);
    const live = await waitFor(receiver, liveCount, 120_000);
    await stopWorkers();

    // 3. ceiling: the same bodies, a plain client, the same concurrency
    await receiver.reset();
    const bodies = (await knex('callback_messages').orderBy('id').limit(o.messages).pluck('payload')) as string[];
    const now = Math.floor(Date.now() / 1000);
    const headers = bodies.map((b, i) => ({ 'courtpay-delivery': `plain_${i}`, 'courtpay-signature': signatureHeader(['cbsec_bench_0123456789abcdefghijklmnopqrstuv'], b, now) }));
    const plainLoad = { port: receiver.port, path: '/callbacks', bodies, headers, connections: o.workers * o.batch, durationSec: Infinity, cycle: false, expectInBody: ['ok'] };
    const plainRuns: PostResult[] = [];
    const undiciRuns: PostResult[] = [];
    for (let r = 0; r < o.rounds; r++) {
      await receiver.reset();
      plainRuns.push(await runPostLoad(plainLoad));
      await receiver.reset();
      undiciRuns.push(await runPostLoad({ ...plainLoad, client: 'undici' }));
    }
    const byRate = (runs: PostResult[]) => runs.slice().sort((a, b) => a.perSec - b.perSec)[Math.floor(runs.length / 2)];
    const plain = byRate(plainRuns);
    const plainUndici = byRate(undiciRuns);
    for (const [name, runs] of [['node:http', plainRuns], ['undici', undiciRuns]] as const) console.log(`ceiling runs, plain ${name}: ${runs.map((p) => p.perSec.toFixed(0)).join(', ')} req/s`);

    // The receiver's ceiling is the faster of the two plain clients: the target is judged against it.
    const ceiling = Math.max(plain.perSec, plainUndici.perSec);
    const ratio = ceiling > 0 ? backlogRate / ceiling : 0;
    const pct = (r: number) => `${(r * 100).toFixed(1)}%`;
    console.log('');
    console.log(`backlog: ${o.rounds} rounds of ${o.messages}: ${drains.map((d) => d.rate.toFixed(0)).join(', ')} messages/s — median ${backlogRate.toFixed(0)} messages/s`);
    console.log(`         last round: ${backlog.count} delivered (${backlog.distinct} distinct delivery ids, ${backlog.dupes} repeats; ${delivered} rows delivered in all); enqueue-to-delivery p50 ${backlog.p50} ms, p99 ${backlog.p99} ms (includes waiting in the 10k backlog)`);
    console.log(`live:    ${live.count}/${liveCount} delivered, queued at ${achievedRate.toFixed(0)}/s (aimed at ${liveRate}/s) one per transaction: enqueue-to-delivery p50 ${live.p50} ms, p99 ${live.p99} ms, max ${live.max} ms`);
    for (const [name, p] of [['node:http', plain], ['undici', plainUndici]] as const) {
      console.log(`ceiling: plain ${name.padEnd(9)} client (median run), ${o.workers * o.batch} connections, same bodies: ${p.completed} posted in ${(p.elapsedMs / 1000).toFixed(2)} s = ${p.perSec.toFixed(0)} req/s (p99 ${p.p99Ms.toFixed(1)} ms) — outbox at ${pct(p.perSec > 0 ? backlogRate / p.perSec : 0)} of it`);
    }
    console.log(`\noutbox/plain messages/s, medians: ${pct(ratio)} (of the faster plain client)`);
    console.log(`target: ≥ ${TARGET_RATIO * 100}% of the plain client's rate — ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}`);
    const problems = [drains.some((d) => d.stats.count < o.messages) && 'backlog not fully delivered', drains.some((d) => d.stats.dupes > 0) && 'duplicate deliveries', live.count < liveCount && 'live phase not fully delivered', [...plainRuns, ...undiciRuns].some((p) => p.non2xx + p.errors > 0) && 'plain client errors'].filter(Boolean);
    for (const p of problems) console.error(`ERROR: ${p}`);
    return problems.length ? 1 : 0;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await receiver?.close();
    for (const d of dbs.reverse()) await d.close();
  }
}
