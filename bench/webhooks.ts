/**
 * `npm run bench -- webhooks`: signed `payment_intent.succeeded` events, each for a distinct
 * pending payment, posted to POST /webhooks/stripe on the real service (signature check, the
 * inbox claim, payment + invoice locks, ledger posting with its deferred balance trigger, audit —
 * one transaction per event) at 16 connections against real Postgres. In the same run, pgbench's
 * builtin tpcb-like script at the same client count on the same server is the baseline: the
 * machine's write-transaction rate. Target: events/s ≥ 40% of pgbench tps. Duplicate deliveries
 * (already processed events, redelivered) are measured too; they must change nothing.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import Stripe from 'stripe';
import { loadConfig } from '../src/config';
import { unbalancedTransactions } from '../src/ledger/ledger';
import { startService, type RunningService } from '../src/service';
import { setLogLevel } from '../src/shared/logger';
import { cpuPerRequest, sampleCpu } from './support/cpu';
import { benchDatabaseOrNull } from './support/db';
import { pendingPayments, seedPendingPayments, type PendingPayment } from './support/payments-seed';
import { initPgbench, NoPgbenchError, pgbenchUrl, runPgbench, type PgbenchResult } from './support/pgbench';
import type { PostResult } from './support/post-driver';
import { runSocketLoad } from './support/socket-driver';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/courtpay_bench_webhooks';
const WEBHOOK_SECRET = 'whsec_bench_webhooks_0123456789abcdef';
const TARGET_RATIO = 0.4;
/** Events seeded per second of measured run when --events is not given: well above what 2 cores manage. */
const EVENTS_PER_SECOND_HEADROOM = 3_000;

interface Args {
  duration: number;
  connections: number;
  events: number;
  warmup: number;
  /** The service's connection pool size; the configuration's own when not given. */
  pool: number | null;
}

function parse(args: string[]): Args {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      events: { type: 'string' },
      warmup: { type: 'string', default: '500' },
      pool: { type: 'string' },
    },
  });
  const num = (flag: keyof typeof values, min: number, fallback?: number): number => {
    if (values[flag] === undefined && fallback !== undefined) return fallback;
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got "${values[flag]}"`);
    return n;
  };
  const duration = num('duration', 1);
  const warmup = num('warmup', 0);
  return {
    duration,
    connections: num('connections', 1),
    warmup,
    pool: values.pool === undefined ? null : num('pool', 1),
    events: num('events', 1, Math.max(30_000, duration * EVENTS_PER_SECOND_HEADROOM) + warmup),
  };
}

/** A Stripe `payment_intent.succeeded` event for one of our pending payments, as Stripe sends it (pretty-printed). */
function succeededEvent(p: PendingPayment, courtCode: string, created: number): { id: string; body: string } {
  const suffix = p.paymentIntentId.slice(3);
  const intent = {
    id: p.paymentIntentId, object: 'payment_intent', amount: p.amount, amount_capturable: 0, amount_received: p.amount,
    application: null, application_fee_amount: null, automatic_payment_methods: null, canceled_at: null, cancellation_reason: null,
    capture_method: 'automatic_async', client_secret: `${p.paymentIntentId}_secret_${suffix}`, confirmation_method: 'automatic',
    created: created - 60, currency: 'cny', customer: null, description: null, last_payment_error: null, latest_charge: `ch_3${suffix}`,
    livemode: false, metadata: { court_code: courtCode, payment_id: p.publicId }, next_action: null, on_behalf_of: null,
    payment_method: `pm_1${suffix}`, payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'], processing: null, receipt_email: null, review: null, setup_future_usage: null, shipping: null,
    source: null, statement_descriptor: null, statement_descriptor_suffix: null, status: 'succeeded', transfer_data: null, transfer_group: null,
  };
  const id = `evt_3${suffix}`;
  const event = {
    id, object: 'event', api_version: '2026-10-28.endive', created, data: { object: intent }, livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type: 'payment_intent.succeeded',
  };
  return { id, body: JSON.stringify(event, null, 2) };
}

/** Signs each body now (Stripe's tolerance is 300 s, so sign right before delivering). */
function signed(bodies: string[]): Record<string, string>[] {
  const timestamp = Math.floor(Date.now() / 1000);
  return bodies.map((payload) => ({ 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp }) }));
}

/** CHECKPOINT before each measured phase, so no phase pays for the previous one's dirty buffers. */
async function checkpoint(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('checkpoint');
  } finally {
    await client.end();
  }
}

interface Counts {
  paymentsSucceeded: number;
  invoicesPaid: number;
  settledPostings: number;
  ledgerEntries: number;
  processedEvents: number;
  inboxRows: number;
  inboxAttempts: number;
  auditSucceeded: number;
  settledTwice: number;
  deliveredSettled: number;
}

async function counts(knex: RunningService['db']['knex'], delivered: string[]): Promise<Counts> {
  const { rows } = await knex.raw(
    `select
       (select count(*) from payments where status = 'succeeded') as "paymentsSucceeded",
       (select count(*) from invoices where status = 'paid') as "invoicesPaid",
       (select count(*) from ledger_transactions where kind = 'payment_settled') as "settledPostings",
       (select count(*) from ledger_entries) as "ledgerEntries",
       (select count(*) from processor_events where status = 'processed') as "processedEvents",
       (select count(*) from processor_events) as "inboxRows",
       (select coalesce(sum(attempts), 0) from processor_events) as "inboxAttempts",
       (select count(*) from audit_events where action = 'payment.succeeded') as "auditSucceeded",
       (select count(*) from (select payment_id from ledger_transactions where kind = 'payment_settled' group by payment_id having count(*) > 1) t) as "settledTwice",
       (select count(*) from payments where public_id = any(?::text[]) and status = 'succeeded' and settled_amount = amount) as "deliveredSettled"`,
    [delivered],
  );
  return Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v)])) as unknown as Counts;
}

function printRows(header: string[], rows: string[][]): void {
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

const ms = (n: number) => n.toFixed(1);

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  const url = await benchDatabaseOrNull(process.env.DATABASE_URL || DEFAULT_URL);
  if (!url) return 1;
  const adminUrl = (() => {
    const u = new URL(url);
    u.pathname = '/postgres';
    return u.toString();
  })();

  // The baseline's tables first (before seeding), so its load does not land in a measured phase.
  const pgbUrl = pgbenchUrl(url);
  const scale = Math.max(16, args.connections); // tpcb-like wants scale ≥ clients, or clients queue on the branch rows
  let t = Date.now();
  try {
    await initPgbench(pgbUrl, scale);
  } catch (e) {
    if (!(e instanceof NoPgbenchError)) throw e;
    console.error(e.message);
    return 1;
  }
  console.log(`pgbench: initialised ${new URL(pgbUrl).pathname.slice(1)} at scale ${scale} in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const config = loadConfig({
    env: { NODE_ENV: 'test', DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'error', STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
    ...(args.pool ? { overrides: { db: { pool: { min: 0, max: args.pool } } } } : {}),
  });
  setLogLevel(config.log.level); // as src/main.ts does; startService leaves the level alone

  let service: RunningService | null = null;
  const problems: string[] = [];
  let distinct: PostResult;
  let dup: PostResult;
  let delivered: number;
  let verification: string[] = [];
  const cpu: Record<'distinct' | 'duplicates', ReturnType<typeof cpuPerRequest>> = {} as never;
  const dbName = decodeURIComponent(new URL(url).pathname.slice(1));
  try {
    service = await startService(config);
    if (service.sandbox) throw new Error('the sandbox processor started: the bench needs STRIPE_SECRET_KEY set so nothing but the webhook runs');
    const knex = service.db.knex;
    t = Date.now();
    await seedPendingPayments(knex, config, args.events);
    const payments = await pendingPayments(knex);
    console.log(`seeded ${payments.length} cases, unpaid invoices and pending payments in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    if (payments.length !== args.events) throw new Error(`expected ${args.events} pending payments, found ${payments.length}`);

    const courtOf = new Map<string, string>(
      (await knex('payments').select('public_id', 'court_code')).map((r: { public_id: string; court_code: string }) => [r.public_id, r.court_code]),
    );
    const created = Math.floor(Date.now() / 1000);
    const events = payments.map((p) => succeededEvent(p, courtOf.get(p.publicId)!, created));
    const bodies = events.map((e) => e.body);
    const avgBytes = bodies.reduce((s, b) => s + Buffer.byteLength(b), 0) / bodies.length;
    const port = service.port;
    const load = { port, path: '/webhooks/stripe', connections: args.connections };
    const fresh = ['"duplicate":false', '"status":"processed"', '"note":"payment succeeded"'];

    console.log(
      `load: ${args.connections} connections (driver on its own thread: raw keep-alive sockets, requests prepared in advance), ${args.warmup} warm-up events, then ${args.duration} s distinct ` +
        `and ${args.duration} s duplicate deliveries; events ~${avgBytes.toFixed(0)} bytes; service pool max ${config.db.pool.max}`,
    );

    // Warm-up: the first events, delivered once each, not counted.
    const warmBodies = bodies.slice(0, args.warmup);
    if (warmBodies.length) {
      const warm = await runSocketLoad({ ...load, bodies: warmBodies, headers: signed(warmBodies), durationSec: Infinity, cycle: false, expectInBody: fresh });
      if (warm.non2xx + warm.errors + warm.unexpected > 0) problems.push(`warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.unexpected} unexpected (${warm.firstProblem})`);
    }

    // Distinct events: each posted once, for --duration seconds.
    await checkpoint(adminUrl);
    const rest = bodies.slice(args.warmup);
    let cpu0 = await sampleCpu(knex, dbName);
    distinct = await runSocketLoad({ ...load, bodies: rest, headers: signed(rest), durationSec: args.duration, cycle: false, expectInBody: fresh });
    cpu.distinct = cpuPerRequest(cpu0, await sampleCpu(knex, dbName), distinct.completed);
    if (distinct.ranOut) problems.push(`distinct: ran out of events after ${(distinct.elapsedMs / 1000).toFixed(1)} s — seed more with --events`);
    delivered = args.warmup + distinct.sent;
    const deliveredIds = payments.slice(0, delivered).map((p) => p.publicId);
    const after = await counts(knex, deliveredIds);
    const unbalanced = (await unbalancedTransactions(knex)).length;
    const check = (label: string, got: number, want: number) => {
      const ok = got === want;
      if (!ok) problems.push(`after distinct events: ${label} = ${got}, want ${want}`);
      return `  ${ok ? 'ok  ' : 'FAIL'} ${label.padEnd(48)} ${String(got).padStart(7)} (want ${want})`;
    };
    verification = [
      `check after distinct events (${args.warmup} warm-up + ${distinct.sent} measured = ${delivered} delivered):`,
      check('payments succeeded', after.paymentsSucceeded, delivered),
      check('delivered payments succeeded, settled in full', after.deliveredSettled, delivered),
      check('invoices paid', after.invoicesPaid, delivered),
      check('ledger_transactions kind payment_settled', after.settledPostings, delivered),
      check('payments settled more than once', after.settledTwice, 0),
      check('ledger_entries', after.ledgerEntries, 2 * delivered),
      check('unbalanced ledger transactions', unbalanced, 0),
      check('processor_events processed', after.processedEvents, delivered),
      check('processor_events rows', after.inboxRows, delivered),
      check('audit_events payment.succeeded', after.auditSucceeded, delivered),
    ];

    // Duplicates: the processed events again (same bodies, re-signed), cycled for --duration seconds.
    const again = bodies.slice(0, delivered);
    await checkpoint(adminUrl);
    cpu0 = await sampleCpu(knex, dbName);
    dup = await runSocketLoad({ ...load, bodies: again, headers: signed(again), durationSec: args.duration, cycle: true, expectInBody: ['"duplicate":true'] });
    cpu.duplicates = cpuPerRequest(cpu0, await sampleCpu(knex, dbName), dup.completed);
    const afterDup = await counts(knex, deliveredIds);
    const changed = (Object.keys(after) as (keyof Counts)[]).filter((k) => after[k] !== afterDup[k]);
    if (changed.length) problems.push(`duplicates changed ${changed.map((k) => `${k} ${after[k]} → ${afterDup[k]}`).join(', ')}`);
    verification.push(
      `check after ${dup.completed} duplicate deliveries: ${changed.length ? `FAIL — changed: ${changed.join(', ')}` : 'ok — nothing changed'} ` +
        `(ledger_transactions payment_settled ${afterDup.settledPostings}, ledger_entries ${afterDup.ledgerEntries}, ` +
        `processor_events ${afterDup.inboxRows} rows / ${afterDup.inboxAttempts} attempts, audit ${afterDup.auditSucceeded})`,
    );
  } finally {
    await service?.stop();
  }

  // Baseline: pgbench on the same server, same client count, after the service has stopped.
  await checkpoint(adminUrl);
  const base: PgbenchResult = await runPgbench(pgbUrl, { clients: args.connections, threads: Math.min(2, args.connections), durationSec: args.duration, scale });
  if (base.failed > 0) problems.push(`pgbench: ${base.failed} failed transactions`);

  for (const [name, r] of [['distinct', distinct], ['duplicates', dup]] as const) {
    if (r.non2xx + r.errors + r.unexpected > 0) problems.push(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.unexpected} unexpected bodies; first: ${r.firstProblem}`);
  }

  console.log('');
  const row = (title: string, r: PostResult) => [title, r.perSec.toFixed(1), ms(r.meanMs), ms(r.p50Ms), ms(r.p99Ms), ms(r.maxMs), String(r.completed), String(r.non2xx), String(r.errors + r.unexpected)];
  printRows(
    ['', 'per s', 'avg ms', 'p50 ms', 'p99 ms', 'max ms', 'count', 'non-2xx', 'errors'],
    [
      row('events (distinct, first delivery)', distinct),
      row('events (duplicate deliveries)', dup),
      [`pgbench tpcb-like (-c ${base.clients} -j ${base.threads} -s ${base.scale})`, base.tps.toFixed(1), ms(base.latencyAvgMs), '-', '-', '-', String(base.transactions), '-', String(base.failed)],
    ],
  );
  console.log('');
  for (const line of verification) console.log(line);
  const ratio = base.tps > 0 ? distinct.perSec / base.tps : 0;
  console.log('\nCPU per event, ms (service main thread / database backends / load driver):');
  for (const [name, r] of [['distinct', distinct], ['duplicates', dup]] as const) {
    const c = cpu[name];
    console.log(`  ${name.padEnd(10)} ${c.mainMs.toFixed(2)} / ${c.databaseMs === null ? 'n/a' : c.databaseMs.toFixed(2)} / ${r.driverCpuMsPerRequest.toFixed(2)}`);
  }
  console.log(`\nduplicates/distinct events/s: ${(dup.perSec / distinct.perSec).toFixed(1)}×`);
  console.log(`events/s ÷ pgbench tps: ${distinct.perSec.toFixed(1)} / ${base.tps.toFixed(1)} = ${(ratio * 100).toFixed(1)}%`);
  console.log(`target: ≥ ${TARGET_RATIO * 100}% of pgbench tps — ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}`);
  for (const p of problems) console.error(`ERROR: ${p}`);
  return problems.length ? 1 : 0;
}
