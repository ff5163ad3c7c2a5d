import type { Knex } from 'knex';
import type Stripe from 'stripe';
import { idOf } from '../payments/observe';
import type { Processor } from '../payments/processor';
import { fenToDecimal, type Field } from './csv';
import { LINE_COLUMNS, REPORT_COLUMNS, rowSink, stageCsv, type RowSink, type StageTables } from './stage';
import type { CourtDay } from './court-day';

/**
 * The processor's side of a court-day, staged: the balance transactions created in the day (list
 * API with auto-pagination, or an itemized balance report's CSV file), and the payouts created in
 * the day with the transactions each one carries. Only payout headers (a handful a day) are held.
 */
export const REPORT_TYPE = 'balance_change_from_activity.itemized.3';

export interface PayoutHeader {
  id: string;
  amount: number;
  currency: string;
  status: string;
  arrivalDate: number;
}

export interface StageOptions {
  knex: Knex;
  processor: Processor;
  embedded: boolean;
  source: 'list' | 'report';
  /** How long to wait between polls of a pending report run. */
  reportPollMs: number;
  reportMaxPolls: number;
}

/** A balance transaction (with its source expanded) as a stage row: the same columns the report has. */
export function lineOf(bt: Stripe.BalanceTransaction): Field[] {
  const src = bt.source && typeof bt.source === 'object' ? (bt.source as unknown as Record<string, unknown>) : null;
  const refund = src?.object === 'refund';
  const meta = (src?.metadata ?? {}) as Record<string, string>;
  // A refund's and a dispute's charge is how a line without our metadata is still found to be ours.
  const chargeId = src?.object === 'charge' ? String(src.id) : refund || src?.object === 'dispute' ? idOf(src?.charge) : null;
  return [
    bt.id, new Date(bt.created * 1000).toISOString(), bt.currency, fenToDecimal(bt.amount), fenToDecimal(bt.fee), fenToDecimal(bt.net),
    bt.reporting_category, idOf(bt.source), chargeId, idOf(src?.payment_intent),
    meta.payment_id ?? null, refund ? null : (meta.court_code ?? null), refund ? (meta.refund_id ?? null) : null, refund ? (meta.court_code ?? null) : null,
  ];
}

async function drain(sink: RowSink, rows: AsyncIterable<Field[]>): Promise<number> {
  try {
    for await (const row of rows) await sink.write(row);
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return sink.close();
}

export async function stageDayLines(o: StageOptions, day: CourtDay, t: StageTables): Promise<number> {
  if (o.source === 'report') return stageFromReport(o, day, t);
  const stripe = o.processor.stripe;
  async function* rows() {
    for await (const bt of stripe.balanceTransactions.list({ created: { gte: day.startEpoch, lt: day.endEpoch }, limit: 100, expand: ['data.source'] })) yield lineOf(bt);
  }
  return drain(rowSink(o.knex, o.embedded, t.lines, LINE_COLUMNS), rows());
}

export async function stagePayouts(o: StageOptions, day: CourtDay, t: StageTables): Promise<PayoutHeader[]> {
  const stripe = o.processor.stripe;
  const headers: PayoutHeader[] = [];
  for await (const p of stripe.payouts.list({ created: { gte: day.startEpoch, lt: day.endEpoch }, limit: 100 })) {
    headers.push({ id: p.id, amount: p.amount, currency: p.currency, status: p.status, arrivalDate: p.arrival_date });
  }
  const sink = rowSink(o.knex, o.embedded, t.payouts, ['payout_id', ...LINE_COLUMNS]);
  async function* rows() {
    for (const h of headers) {
      for await (const bt of stripe.balanceTransactions.list({ payout: h.id, limit: 100, expand: ['data.source'] })) yield [h.id, ...lineOf(bt)];
    }
  }
  await drain(sink, rows());
  return headers;
}

async function stageFromReport(o: StageOptions, day: CourtDay, t: StageTables): Promise<number> {
  const stripe = o.processor.stripe;
  let run = await stripe.reporting.reportRuns.create({
    report_type: REPORT_TYPE,
    parameters: { interval_start: day.startEpoch, interval_end: day.endEpoch, columns: Object.keys(REPORT_COLUMNS) },
  });
  for (let polls = 0; run.status === 'pending'; polls++) {
    if (polls >= o.reportMaxPolls) throw new Error(`report run ${run.id} still pending after ${polls} polls`);
    await new Promise((r) => setTimeout(r, o.reportPollMs));
    run = await stripe.reporting.reportRuns.retrieve(run.id);
  }
  if (run.status !== 'succeeded' || !run.result?.url) throw new Error(`report run ${run.id} ${run.status}: ${run.error ?? 'no result file'}`);
  const fileUrl = reportFileUrl(o.processor.stripe, run.result.id, run.result.url);
  // Report files are fetched with the same secret key the client sends: so only from Stripe's file host, and never through a redirect.
  const res = await fetch(fileUrl, { headers: { authorization: `Bearer ${o.processor.secretKey}` }, redirect: 'manual' });
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new Error(`report file ${run.result.id} download answered a redirect (HTTP ${res.status}), not followed`);
  }
  if (!res.ok || !res.body) throw new Error(`report file ${run.result.id} download failed: HTTP ${res.status}`);
  return stageCsv(o.knex, o.embedded, t.lines, res.body as unknown as AsyncIterable<Uint8Array>, REPORT_COLUMNS);
}

/**
 * Where the client's Stripe serves files: files.stripe.com beside api.stripe.com, or the stand-in's
 * own origin when the client is pointed elsewhere (STRIPE_API_BASE: tests, the sandbox).
 */
export function stripeFilesOrigin(stripe: Stripe): string {
  const host = String(stripe.getApiField('host'));
  if (host === 'api.stripe.com') return 'https://files.stripe.com';
  return new URL(`${String(stripe.getApiField('protocol'))}://${host}:${String(stripe.getApiField('port'))}`).origin;
}

/** A report run's file URL, if it is on Stripe's file host: the API key goes nowhere else. */
export function reportFileUrl(stripe: Stripe, fileId: string, raw: string): URL {
  const expected = stripeFilesOrigin(stripe);
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // refused below
  }
  if (!url || url.origin !== expected || url.username || url.password) {
    throw new Error(`report file ${fileId} is not on Stripe's file host ${expected} (it names ${url ? url.host : 'no valid URL'}): not downloaded, the API key is sent only to Stripe`);
  }
  return url;
}

