import type { Knex } from 'knex';
import { auditRow, recordAudit } from '../audit/record';
import { callbackMessages, emitCallback, type CallbackType } from '../callbacks/emit';
import { callbackData, presentCallbackData } from '../callbacks/payload';
import type { Config } from '../config';
import { invoiceAfterMove, moveInvoiceMoney } from '../invoices/money';
import type { InvoiceRow } from '../invoices/present';
import { post, postingRow, transfer } from '../ledger/ledger';
import { cancelOpenRefundsOfPayment } from '../refunds/decide';
import { lockPayment, lockPaymentAndInvoice, presentPayment, type PaymentRow, type PaymentState } from './payment-store';
import { writeSettlements, type SettlementWrite } from './settle-statement';
import { isSettled, nextDispute, nextStatus, type DisputeStatus, type Outcome, type PaymentStatus } from './transitions';

/** What the processor told us about a payment, from an event or an object we retrieved. */
export interface Observation {
  /** The event id, or e.g. "sweep" / "return-page": where the news came from. */
  source: string;
  outcome?: Outcome;
  /** For a success: the amount received (fen) and its currency as Stripe writes it ("cny"). */
  amount?: number;
  currency?: string;
  checkoutSessionId?: string | null;
  paymentIntentId?: string | null;
  chargeId?: string | null;
  paymentMethodType?: string | null;
  failureReason?: string | null;
  /**
   * The attempt's Checkout Session can take no (more) payment: it expired, or it completed and its
   * payment settled or finally failed. Recorded even when the status stays (a declined attempt's
   * session, which Stripe keeps open, is closed later), so the pay button no longer counts it as open.
   */
  sessionClosed?: boolean;
}

export type ApplyResult = { kind: 'applied'; status: PaymentStatus } | { kind: 'unchanged'; status: PaymentStatus } | { kind: 'flagged'; reason: string };

const actor = (source: string) => `processor:${source}`;

/** The callback types applying an observation can emit: their listeners are read with the payment. */
export const OBSERVATION_CALLBACKS: readonly CallbackType[] = ['invoice.paid', 'invoice.partially_paid', 'payment.failed'];

export interface ObservationPlan {
  result: ApplyResult;
  /** Null when nothing is to be written. */
  write: SettlementWrite | null;
}

/**
 * Decides what an observation does to a payment as read: its status (the transition table), the
 * invoice's settled totals and status, the ledger posting, the audit row and the callbacks with
 * their data as they will stand after the change. Pure; writeSettlement writes it in one statement.
 */
export function planObservation(config: Readonly<Config>, state: PaymentState, obs: Observation, now = new Date()): ObservationPlan {
  const { invoice, payment } = state;
  const ids = { ...linkIds(payment, obs), ...(obs.sessionClosed && !payment.checkout_closed_at ? { checkout_closed_at: now } : {}) };
  if (obs.outcome === 'succeeded') {
    const reason = disagreement(payment, obs.amount, obs.currency);
    if (reason) return { result: { kind: 'flagged', reason }, write: changeOf(config, state, { ...ids, flagged_at: now, flag_reason: reason }, 'payment.flagged', obs.source, now) };
  }
  const next = obs.outcome ? nextStatus(payment.status, obs.outcome) : null;
  if (!next) {
    const failure = obs.failureReason && payment.status === 'pending' ? { failure_reason: obs.failureReason } : {};
    const changes = { ...ids, ...failure };
    const result: ApplyResult = { kind: 'unchanged', status: payment.status };
    if (!Object.keys(changes).length) return { result, write: null };
    return { result, write: { payment: { ...changes, updated_at: now }, invoice: null, posting: null, audit: null, callbacks: [] } };
  }
  const changes: Partial<PaymentRow> = { ...ids, status: next };
  let settled: Pick<SettlementWrite, 'posting'> & { invoiceAfter: InvoiceRow | null } = { posting: null, invoiceAfter: null };
  let callback: CallbackType | null = null;
  if (next === 'succeeded') {
    changes.settled_amount = payment.amount;
    changes.settled_at = now;
    changes.failure_reason = null;
    settled = {
      invoiceAfter: invoiceAfterMove(invoice, { paid: payment.amount }, now),
      posting: postingRow({
        kind: 'payment_settled', courtCode: payment.court_code, invoiceId: payment.invoice_id, paymentId: payment.id, source: obs.source,
        description: `payment ${payment.public_id} settled`, lines: transfer('processor_clearing', 'fee_income', payment.amount),
      }),
    };
    callback = settled.invoiceAfter!.status === 'partially_paid' ? 'invoice.partially_paid' : 'invoice.paid';
  } else if (obs.failureReason) {
    changes.failure_reason = obs.failureReason;
  }
  if (next === 'failed') callback = 'payment.failed';
  const write = changeOf(config, state, changes, `payment.${next}`, obs.source, now, settled.invoiceAfter, callback);
  return { result: { kind: 'applied', status: next }, write: { ...write, posting: settled.posting } };
}

/** A change to the payment row, with its audit row and (when someone listens) its callbacks, built on the rows as they will stand. */
function changeOf(config: Readonly<Config>, state: PaymentState, changes: Partial<PaymentRow>, action: string, source: string, now: Date, invoiceAfter: InvoiceRow | null = null, callback: CallbackType | null = null): SettlementWrite {
  const before = state.payment;
  const after: PaymentRow = { ...before, ...changes, updated_at: now };
  const audit = { ...auditRow({ action, entityType: 'payment', entityId: before.public_id }, actor(source)), before: presentPayment(before), after: presentPayment(after) };
  const endpoints = callback ? state.listeners.filter((l) => l.types.includes(callback)).map((l) => l.id) : [];
  const callbacks = callback && endpoints.length
    ? callbackMessages(endpoints, { type: callback, invoiceId: before.invoice_id }, presentCallbackData(config, { invoice: invoiceAfter ?? state.invoice, caseNumber: state.caseNumber, remissions: state.remissions, caseInvoices: state.caseInvoices, payment: after }, callback))
    : [];
  const invoice = invoiceAfter && { paid_amount: invoiceAfter.paid_amount, refunded_amount: invoiceAfter.refunded_amount, status: invoiceAfter.status, updated_at: now };
  return { payment: { ...changes, updated_at: now }, invoice, posting: null, audit, callbacks };
}

/**
 * Applies an observation to one payment in the caller's transaction: payment status, invoice
 * totals and status, ledger, audit and callbacks move together, or not at all. Sweep, return page,
 * reconciliation and the webhook's locking path come through here; the webhook's optimistic path
 * writes the same plans without locks, many events to a statement (webhooks/batch.ts).
 */
export async function applyObservation(tx: Knex.Transaction, config: Readonly<Config>, target: Pick<PaymentRow, 'id'> | PaymentState, obs: Observation): Promise<ApplyResult> {
  const state = 'versions' in target ? target : (await lockPayment(tx, { id: target.id }, OBSERVATION_CALLBACKS))!;
  const plan = planObservation(config, state, obs);
  if (plan.write) await writeSettlements(tx, [{ state, write: plan.write }]);
  return plan.result;
}

export interface DisputeObservation {
  source: string;
  disputeId: string;
  status: DisputeStatus;
  amount: number;
  currency: string;
}

export class PaymentNotSettledError extends Error {}

/**
 * Applies a dispute: open moves the money into disputed funds; won gives it back; lost takes it
 * out of the court's fee income and off the invoice. Needs the payment settled first.
 */
export async function applyDispute(tx: Knex.Transaction, config: Readonly<Config>, target: Pick<PaymentRow, 'id'>, d: DisputeObservation): Promise<ApplyResult> {
  const { invoice, payment } = await lockPaymentAndInvoice(tx, target);
  if (!isSettled(payment.status)) throw new PaymentNotSettledError(`payment ${payment.public_id} is ${payment.status}; a dispute needs it settled`);
  const next = nextDispute(payment.dispute_status, d.status);
  if (!next) return { kind: 'unchanged', status: payment.status };
  const mismatch = d.currency.toLowerCase() !== 'cny' || d.amount > payment.settled_amount ? `dispute ${d.disputeId} of ${d.amount} ${d.currency} exceeds what was settled` : null;
  if (mismatch) return flag(tx, payment, mismatch, d.source, {});
  const base = { kind: '', courtCode: payment.court_code, invoiceId: payment.invoice_id, paymentId: payment.id, source: d.source };
  const opened = payment.dispute_status === 'open';
  if (!opened && next !== 'won') {
    await post(tx, { ...base, kind: 'dispute_opened', lines: transfer('disputed_funds', 'processor_clearing', d.amount) });
    await cancelOpenRefundsOfPayment(tx, payment.id, `payment disputed (${d.disputeId})`);
  }
  if (opened && next === 'won') await post(tx, { ...base, kind: 'dispute_won', lines: transfer('processor_clearing', 'disputed_funds', d.amount) });
  if (next === 'lost') {
    await post(tx, { ...base, kind: 'dispute_lost', lines: transfer('fee_income', 'disputed_funds', d.amount) });
    await moveInvoiceMoney(tx, invoice, { paid: -d.amount });
  }
  const status: PaymentStatus = next === 'won' ? 'succeeded' : 'disputed';
  const after = await update(tx, payment.id, {
    status,
    dispute_status: next,
    dispute_id: d.disputeId,
    ...(next === 'lost' ? { settled_amount: payment.settled_amount - d.amount } : {}),
  });
  if (!opened && next !== 'won') await emitCallback(tx, { type: 'payment.disputed', invoiceId: payment.invoice_id, paymentId: payment.id }, callbackData(config));
  await recordAudit(tx, { action: `payment.dispute_${next}`, entityType: 'payment', entityId: payment.public_id, before: presentPayment(payment), after: presentPayment(after) }, actor(d.source));
  return { kind: 'applied', status };
}

function linkIds(p: PaymentRow, o: Observation): Partial<PaymentRow> {
  const out: Partial<PaymentRow> = {};
  if (o.checkoutSessionId && !p.checkout_session_id) out.checkout_session_id = o.checkoutSessionId;
  if (o.paymentIntentId && !p.payment_intent_id) out.payment_intent_id = o.paymentIntentId;
  if (o.chargeId && !p.charge_id) out.charge_id = o.chargeId;
  if (o.paymentMethodType && !p.payment_method_type) out.payment_method_type = o.paymentMethodType;
  return out;
}

function disagreement(p: PaymentRow, amount: number | undefined, currency: string | undefined): string | null {
  if (currency === undefined || currency.toUpperCase() !== p.currency) return `currency ${currency ?? 'missing'} differs from ${p.currency} asked for`;
  if (amount !== p.amount) return `amount ${amount ?? 'missing'} differs from ${p.amount} asked for`;
  return null;
}

async function flag(tx: Knex.Transaction, p: PaymentRow, reason: string, source: string, ids: Partial<PaymentRow>): Promise<ApplyResult> {
  const after = await update(tx, p.id, { ...ids, flagged_at: new Date(), flag_reason: reason });
  await recordAudit(tx, { action: 'payment.flagged', entityType: 'payment', entityId: p.public_id, before: presentPayment(p), after: presentPayment(after) }, actor(source));
  return { kind: 'flagged', reason };
}

async function update(tx: Knex.Transaction, id: number, changes: Partial<PaymentRow>): Promise<PaymentRow> {
  const [row] = await tx<PaymentRow>('payments').where({ id }).update({ ...changes, updated_at: new Date() }).returning('*');
  return row;
}
