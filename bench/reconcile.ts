/**
 * `npm run bench -- reconcile`: a report-sourced reconciliation of one court-day with 1,000,000
 * settlement lines (a generated balance_change_from_activity.itemized.3 CSV, served by a local
 * stand-in for Stripe's report run and file endpoints) against 1,000,000 settled payments in real
 * Postgres. Baseline, in the same run: COPY of the same file into a scratch table. A 100,000-line
 * day is run first to show how the run grows. Targets: ≤ 3× COPY, peak RSS < 256 MB, and the
 * 1,000,000-line run within 12× the 100,000-line run.
 *
 * 1% of each day's lines are not that day's plain payments: half are lines of payments we settled
 * just after the next midnight (a webhook after 00:00), half are charges no court of ours made (no
 * metadata). The next night's run (no lines) shows the former reported on neither day; the
 * account-level run of the big day counts every line and reports the latter, timed as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { syncCourts } from '../src/courts/courts';
import { openDatabase } from '../src/db';
import { createStripeClient } from '../src/payments/processor';
import { courtDay } from '../src/reconciliation/court-day';
import { reconcileCourtDay } from '../src/reconciliation/run';
import { setLogLevel } from '../src/shared/logger';
import { benchDatabaseOrNull } from './support/db';
import { reconcileAccountDay } from '../src/reconciliation/account-run';
import { copyBaseline, seedSettledPayments, settleAfterMidnight, writeReportFile } from './support/reconcile-seed';
import { startReportStandIn } from './support/report-standin';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/courtpay_bench_reconcile';
const SECRET = 'sk_test_bench_reconcile';
const COURT = '1401';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { lines: { type: 'string', default: '1000000' }, small: { type: 'string', default: '100000' } } });
  const big = Number(values.lines);
  const small = Number(values.small);
  const url = await benchDatabaseOrNull(process.env.DATABASE_URL || DEFAULT_URL);
  if (!url) return 1;
  setLogLevel(process.env.BENCH_LOG_LEVEL ?? 'warn');
  const base = loadConfig({ env: { NODE_ENV: 'development', DATABASE_URL: url, STRIPE_SECRET_KEY: SECRET, PUBLIC_BASE_URL: 'https://pay.courts.example' } });
  const db = await openDatabase(base);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'courtpay-bench-reconcile-'));
  const rss = { peak: 0, timer: null as NodeJS.Timeout | null };
  try {
    await syncCourts(db.knex, base.courts);
    const court = base.courts.find((c) => c.code === COURT)!;
    const smallDay = courtDay(court, '2025-03-02');
    const bigDay = courtDay(court, '2025-03-03');
    const nextDay = courtDay(court, '2025-03-04');
    const t0 = Date.now();
    // Of each day's lines: 0.5% foreign charges, 0.5% (every 200th payment) settled after the next midnight.
    const foreignOf = (n: number) => Math.floor(n / 200);
    const bigPaid = big - foreignOf(big);
    const smallPaid = small - foreignOf(small);
    await seedSettledPayments(db.knex, { courtCode: COURT, designation: court.designation, from: 1, count: bigPaid, settledAt: bigDay.start.toISOString() });
    await seedSettledPayments(db.knex, { courtCode: COURT, designation: court.designation, from: bigPaid + 1, count: smallPaid, settledAt: smallDay.start.toISOString() });
    const lateBig = await settleAfterMidnight(db.knex, { courtCode: COURT, from: 1, count: bigPaid, every: 200, at: nextDay.start.toISOString() });
    const lateSmall = await settleAfterMidnight(db.knex, { courtCode: COURT, from: bigPaid + 1, count: smallPaid, every: 200, at: bigDay.start.toISOString() });
    const bigFile = path.join(dir, 'big.csv');
    const smallFile = path.join(dir, 'small.csv');
    const nextFile = path.join(dir, 'next.csv');
    await writeReportFile(db.knex, bigFile, { courtCode: COURT, from: 1, count: bigPaid, createdAt: bigDay.start.toISOString(), foreign: foreignOf(big) });
    await writeReportFile(db.knex, smallFile, { courtCode: COURT, from: bigPaid + 1, count: smallPaid, createdAt: smallDay.start.toISOString(), foreign: foreignOf(small) });
    await writeReportFile(db.knex, nextFile, { courtCode: COURT, from: 1, count: 0, createdAt: nextDay.start.toISOString() });
    console.log(`seeded ${bigPaid + smallPaid} settled payments and wrote the report files (${(fs.statSync(bigFile).size / 1e6).toFixed(1)} MB for ${big} lines) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`of the ${big} lines: ${lateBig} payments settled after the next midnight, ${foreignOf(big)} foreign charges (no metadata); of the ${small}: ${lateSmall} and ${foreignOf(small)}`);

    const standIn = await startReportStandIn(SECRET, new Map([[bigDay.startEpoch, bigFile], [smallDay.startEpoch, smallFile], [nextDay.startEpoch, nextFile]]));
    const config = { ...base, reconciliation: { ...base.reconciliation, source: 'report' as const }, stripe: { ...base.stripe, apiBase: standIn.apiBase } };
    const processor = { stripe: createStripeClient(SECRET, config, standIn.apiBase), kind: 'stripe' as const, webhookSecrets: [], secretKey: SECRET };
    const runDay = async (date: string) => {
      const started = process.hrtime.bigint();
      const r = await reconcileCourtDay({ knex: db.knex, config, processor, reportPollMs: 10 }, { date, courtCode: COURT, startedBy: 'bench' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (r.outcome !== 'completed') throw new Error(`run ${date} ${r.outcome}${r.outcome === 'failed' ? `: ${r.run.failure_reason}` : ''}`);
      return { ms, totals: r.run.totals as { lines: number; processorFees: number; clearing: { closed: boolean } }, items: await discrepancies(r.run.id), checks: r.run.checks as { otherDays: { lines: number } } };
    };
    const discrepancies = async (runId: number) => {
      const rows = await db.knex('reconciliation_items').where({ run_id: runId }).groupBy('kind').orderBy('kind').select('kind').count<{ kind: string; count: string }[]>('* as count');
      return rows.map((k) => `${k.kind}=${k.count}`).join(' ') || 'none';
    };
    try {
      const copy = await copyBaseline(db.knex, bigFile);
      const smallRun = await runDay(smallDay.date);
      rss.timer = setInterval(() => (rss.peak = Math.max(rss.peak, process.memoryUsage().rss)), 50);
      const bigRun = await runDay(bigDay.date);
      const nextRun = await runDay(nextDay.date);
      const accountStarted = process.hrtime.bigint();
      const account = await reconcileAccountDay({ knex: db.knex, config, processor, reportPollMs: 10 }, { date: bigDay.date, startedBy: 'bench' });
      const accountMs = Number(process.hrtime.bigint() - accountStarted) / 1e6;
      if (account.outcome !== 'completed') throw new Error(`account run ${account.outcome}${account.outcome === 'failed' ? `: ${account.run.failure_reason}` : ''}`);
      const accountTotals = account.run.totals as { lines: number; stagedLines: number; net: number; unattributed: { lines: number } };
      clearInterval(rss.timer);
      const maxRssMb = process.resourceUsage().maxRSS / 1024;
      const ratio = bigRun.ms / copy.ms;
      const growth = bigRun.ms / smallRun.ms;
      const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
      console.log(`COPY baseline: ${copy.rows} lines into a scratch table in ${(copy.ms / 1000).toFixed(2)} s`);
      console.log(`run ${small} lines: ${(smallRun.ms / 1000).toFixed(2)} s (${smallRun.totals.lines} court lines, ${smallRun.checks.otherDays.lines} matched to a payment settled on another day; discrepancies: ${smallRun.items})`);
      console.log(`run ${big} lines: ${(bigRun.ms / 1000).toFixed(2)} s (${bigRun.totals.lines} court lines, ${bigRun.checks.otherDays.lines} matched to a payment settled on another day; discrepancies: ${bigRun.items}; fees ${bigRun.totals.processorFees} fen, clearing ${bigRun.totals.clearing.closed ? 'closed' : 'open'})`);
      console.log(`next night ${nextDay.date} (no lines, ${lateBig} payments settled after its midnight): ${(nextRun.ms / 1000).toFixed(2)} s; discrepancies: ${nextRun.items}`);
      console.log(`account-level run ${big} lines: ${(accountMs / 1000).toFixed(2)} s, ${(accountMs / copy.ms).toFixed(2)}x COPY (${accountTotals.lines} of ${accountTotals.stagedLines} lines counted, ${accountTotals.unattributed.lines} unattributed; discrepancies: ${await discrepancies(account.run.id)})`);
      console.log(`ratio run/COPY: ${ratio.toFixed(2)}x (target <= 3x: ${ok(ratio <= 3)})`);
      console.log(`growth ${big}/${small}: ${growth.toFixed(2)}x (target <= 12x: ${ok(growth <= 12)})`);
      console.log(`peak RSS during the ${big}-line run: ${(rss.peak / 1024 / 1024).toFixed(0)} MB; process maxRSS: ${maxRssMb.toFixed(0)} MB (target < 256 MB: ${ok(maxRssMb < 256)})`);
    } finally {
      await standIn.close();
    }
    return 0;
  } finally {
    if (rss.timer) clearInterval(rss.timer);
    fs.rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
