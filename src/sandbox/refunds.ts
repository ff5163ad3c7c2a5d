import type { Knex } from 'knex';
import { formatYuan } from '../fees/money';
import { invalid, noSuch } from './errors';
import { balanceTransaction } from './objects';
import { allowOnly, int, metadata, newId, nowSec, oneOf, str, type Params } from './params';
import { run, type Ctx, type Idempotency, type RunResult } from './runtime';
import { store, type StripeObject } from './store';

/** Refunds (and a refund the bank later returns) and sandbox payouts. */
const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

const yuan = (fen: number) => `¥${formatYuan(fen)}`;

async function lockChargeFor(tx: Knex.Transaction, p: Params): Promise<StripeObject> {
  const chargeId = str(p, 'charge');
  const piId = str(p, 'payment_intent');
  if (!chargeId && !piId) throw invalid('One of the following params should be provided for this request: payment_intent or charge.', undefined, 'parameter_missing');
  let id = chargeId;
  if (!id) {
    const pi = await store.get(tx, piId!);
    if (!pi || pi.object !== 'payment_intent') throw noSuch('payment_intent', piId!, 'payment_intent');
    if (pi.status !== 'succeeded' || !pi.latest_charge) throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'payment_intent');
    id = pi.latest_charge as string;
  }
  const ch = await store.lock(tx, id);
  if (!ch || ch.object !== 'charge') throw noSuch('charge', id, 'charge');
  if (piId && ch.payment_intent !== piId) throw invalid(`Charge ${ch.id} does not belong to PaymentIntent ${piId}.`, 'charge');
  return ch;
}

export function createRefund(ctx: Ctx, p: Params, idem?: Idempotency): Promise<RunResult<StripeObject>> {
  return run(ctx, async (u) => {
    allowOnly(p, ['payment_intent', 'charge', 'amount', 'metadata', 'reason', 'expand']);
    const reason = oneOf(p, 'reason', REASONS) ?? null;
    const meta = metadata(p);
    const ch = await lockChargeFor(u.tx, p);
    const remaining = (ch.amount as number) - (ch.amount_refunded as number);
    if (remaining <= 0) throw invalid(`Charge ${ch.id} has already been refunded.`, undefined, 'charge_already_refunded');
    const amount = int(p, 'amount') ?? remaining;
    if (amount < 1) throw invalid('Invalid positive integer', 'amount', 'parameter_invalid_integer');
    if (amount > remaining) throw invalid(`Refund amount (${yuan(amount)}) is greater than unrefunded amount on charge (${yuan(remaining)})`, 'amount', 'amount_too_large');
    const id = newId('re');
    const currency = ch.currency as string;
    const txn = balanceTransaction({ amount: -amount, fee: 0, currency, source: id, type: 'refund', description: 'REFUND FOR CHARGE' });
    const method = (ch.payment_method_details as { type: string }).type;
    const refund: StripeObject = {
      id,
      object: 'refund',
      amount,
      balance_transaction: txn.id,
      charge: ch.id,
      created: nowSec(),
      currency,
      destination_details: { type: method, [method]: method === 'card' ? { reference: null, reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' } : {} },
      metadata: meta,
      payment_intent: ch.payment_intent,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    const refunded = (ch.amount_refunded as number) + amount;
    Object.assign(ch, { amount_refunded: refunded, refunded: refunded === ch.amount });
    await store.insert(u.tx, refund, txn);
    await store.update(u.tx, ch);
    const key = (ch.payment_intent as string | null) ?? ch.id;
    await u.emit('refund.created', refund, key);
    await u.emit('charge.refunded', ch, key);
    return refund;
  }, idem);
}

/** The bank returned a refund that had succeeded: it turns failed and the money comes back to the balance. */
export async function failRefund(ctx: Ctx, refundId: string): Promise<StripeObject> {
  const { result } = await run(ctx, async (u) => {
    const refund = await store.lock(u.tx, refundId);
    if (!refund || refund.object !== 'refund') throw noSuch('refund', refundId);
    if (refund.status !== 'succeeded') throw invalid(`Refund ${refundId} is ${String(refund.status)}, not succeeded.`);
    const ch = (await store.lock(u.tx, refund.charge as string))!;
    const amount = refund.amount as number;
    const txn = balanceTransaction({ amount, fee: 0, currency: refund.currency as string, source: refund.id, type: 'refund_failure', description: 'REFUND FAILURE' });
    Object.assign(refund, { status: 'failed', failure_reason: 'expired_or_canceled_card', failure_balance_transaction: txn.id });
    Object.assign(ch, { amount_refunded: (ch.amount_refunded as number) - amount, refunded: false });
    await store.insert(u.tx, txn);
    await store.update(u.tx, refund);
    await store.update(u.tx, ch);
    const key = (refund.payment_intent as string | null) ?? ch.id;
    await u.emit('refund.updated', refund, key, { status: 'succeeded' });
    await u.emit('refund.failed', refund, key);
    return refund;
  });
  return result;
}

/** Not Stripe: pays out every available balance transaction no payout has taken yet (demos, tests). */
export function createPayout(ctx: Ctx, p: Params, idem?: Idempotency): Promise<RunResult<StripeObject>> {
  return run(ctx, async (u) => {
    allowOnly(p, ['currency', 'expand']);
    const currency = (str(p, 'currency') ?? 'cny').toLowerCase();
    const lines = (await store.unpaidBalanceTransactions(u.tx)).filter((t) => t.currency === currency);
    const total = lines.reduce((sum, t) => sum + (t.net as number), 0);
    if (total <= 0) throw invalid('You have insufficient funds in your Stripe account for this payout.', undefined, 'balance_insufficient');
    const id = newId('po');
    const created = nowSec();
    const txn = balanceTransaction({ amount: -total, fee: 0, currency, source: id, type: 'payout', description: 'STRIPE PAYOUT' });
    const payout: StripeObject = {
      id, object: 'payout', amount: total, application_fee: null, application_fee_amount: null, arrival_date: created, automatic: true,
      balance_transaction: txn.id, created, currency, description: 'STRIPE PAYOUT', destination: 'ba_sandbox', failure_balance_transaction: null,
      failure_code: null, failure_message: null, livemode: false, metadata: {}, method: 'standard', original_payout: null,
      reconciliation_status: 'completed', reversed_by: null, source_type: 'card', statement_descriptor: null, status: 'in_transit', trace_id: null, type: 'bank_account',
    };
    await u.emit('payout.created', payout, id);
    payout.status = 'paid';
    await store.insert(u.tx, payout, txn);
    await u.tx.raw(
      `update sandbox_objects set data = jsonb_set(data, '{_sandbox}', coalesce(data->'_sandbox', '{}'::jsonb) || jsonb_build_object('payout', ?::text)), updated_at = now() where id = any(?)`,
      [id, lines.map((t) => t.id)],
    );
    await u.emit('payout.paid', payout, id);
    return payout;
  }, idem);
}
