import crypto from 'node:crypto';
import nock from 'nock';
import type { Config } from '../../src/config';
import { courtDay, type CourtDay } from '../../src/reconciliation/court-day';
import { reconcileCourtDay, type ReconcileOutcome } from '../../src/reconciliation/run';
import { aCase, anInvoice, aPayment } from './builders';
import { testEnv } from './env';

/**
 * Reconciliation fixtures: court 1402 (no other test puts money there), one far-past court-day per
 * scenario, and Stripe's balance transactions, payouts and report runs stubbed with nock.
 */
export const COURT = '1402';
const rnd = () => crypto.randomBytes(6).toString('hex');

export function dayOf(date: string): CourtDay {
  return courtDay(testEnv().config.courts.find((c) => c.code === COURT)!, date);
}

export interface Paid {
  id: number;
  public_id: string;
  invoice_id: number;
  invoicePublicId: string;
  caseNumber: string;
  amount: number;
  payment_intent_id: string;
  charge_id: string;
}

/** A payment settled through the webhook code path, its settlement moved into the court-day. */
export async function settledOn(key: string, day: CourtDay, o: { caseNumber?: string; invoiceId?: string; amount?: number; settle?: boolean } = {}): Promise<Paid> {
  const caseNumber = o.caseNumber ?? (await aCase(key, { courtCode: COURT }));
  const invoiceId = o.invoiceId ?? (await anInvoice(key, caseNumber, { feeKind: 'acceptance_labour' })).id;
  const p = await aPayment(invoiceId, { amount: o.amount, settle: o.settle });
  if (o.settle !== false) await testEnv().knex('payments').where({ id: p.id }).update({ settled_at: new Date(day.start.getTime() + 3 * 3600_000) });
  return { ...p, invoicePublicId: invoiceId, caseNumber, charge_id: p.charge_id ?? `ch_${rnd()}` };
}

export interface LineOptions {
  amount?: number;
  currency?: string;
  fee?: number;
  category?: 'charge' | 'refund';
}

/** The balance transaction Stripe lists for a payment's charge (source expanded), in the court-day. */
export function lineFor(day: CourtDay, p: Pick<Paid, 'amount' | 'public_id' | 'payment_intent_id' | 'charge_id'> | null, o: LineOptions & { metaPaymentId?: string } = {}) {
  const amount = o.amount ?? p?.amount ?? 1000;
  const fee = o.fee ?? Math.floor(amount / 100);
  const chargeId = p?.charge_id ?? `ch_${rnd()}`;
  return {
    id: `txn_${rnd()}`, object: 'balance_transaction', amount, fee, net: amount - fee, currency: o.currency ?? 'cny', created: day.startEpoch + 3600,
    available_on: day.startEpoch + 86400 * 2, status: 'available', type: 'charge', reporting_category: 'charge', description: null, exchange_rate: null, fee_details: [],
    source: {
      id: chargeId, object: 'charge', amount, currency: o.currency ?? 'cny', payment_intent: p?.payment_intent_id ?? `pi_${rnd()}`, status: 'succeeded',
      metadata: { payment_id: o.metaPaymentId ?? p?.public_id ?? `pay_unknown${rnd()}`, court_code: COURT },
    },
  };
}

export type Line = ReturnType<typeof lineFor>;

export interface Payout {
  id: string;
  amount: number;
  lines: Line[];
}

/** Stripe's lists for a day: balance transactions in pages of `pageSize`, payouts, each payout's transactions. */
export function stubProcessorDay(lines: Line[], payouts: Payout[] = [], o: { pageSize?: number; failPage?: number } = {}) {
  const size = o.pageSize ?? 2;
  const stripe = nock('https://api.stripe.com');
  const pages = Math.max(1, Math.ceil(lines.length / size));
  for (let i = 0; i < pages; i++) {
    const page = lines.slice(i * size, (i + 1) * size);
    const after = i === 0 ? undefined : lines[i * size - 1].id;
    const scope = stripe.get('/v1/balance_transactions').query((q) => !q.payout && q.starting_after === after);
    if (o.failPage === i) scope.reply(500, { error: { type: 'api_error', message: 'Stripe is having a bad day' } });
    else scope.reply(200, { object: 'list', url: '/v1/balance_transactions', has_more: i < pages - 1, data: page });
  }
  if (o.failPage !== undefined) return stripe;
  stripe.get('/v1/payouts').query(true).reply(200, {
    object: 'list', url: '/v1/payouts', has_more: false,
    data: payouts.map((p) => ({ id: p.id, object: 'payout', amount: p.amount, currency: 'cny', status: 'paid', arrival_date: 1_700_000_000, created: 1_700_000_000, automatic: true })),
  });
  for (const p of payouts) {
    const own = { id: `txn_${rnd()}`, object: 'balance_transaction', amount: -p.amount, fee: 0, net: -p.amount, currency: 'cny', created: 1_700_000_000, reporting_category: 'payout', type: 'payout', source: p.id };
    stripe.get('/v1/balance_transactions').query((q) => q.payout === p.id).reply(200, { object: 'list', has_more: false, data: [...p.lines, own] });
  }
  return stripe;
}

export function configWith(over: { caseRecordsUrl?: string; source?: 'list' | 'report' }): Readonly<Config> {
  const c = testEnv().config;
  return {
    ...c,
    reconciliation: { ...c.reconciliation, ...(over.source ? { source: over.source } : {}) },
    courts: c.courts.map((k) => (k.code === COURT && over.caseRecordsUrl ? { ...k, caseRecordsUrl: over.caseRecordsUrl } : k)),
  };
}

export function reconcile(date: string, o: { config?: Readonly<Config>; now?: Date } = {}): Promise<ReconcileOutcome> {
  const { knex, config, processor } = testEnv();
  return reconcileCourtDay({ knex, config: o.config ?? config, processor, reportPollMs: 5 }, { date, courtCode: COURT, startedBy: 'test', now: o.now });
}

export async function itemsOf(runId: number) {
  return testEnv().knex('reconciliation_items').where({ run_id: runId }).orderBy(['kind', 'item_key']);
}
