import type { Knex } from 'knex';
import type Stripe from 'stripe';
import { recordAudit } from '../audit/record';
import { emitCallback } from '../callbacks/emit';
import type { PaymentRow } from '../payments/payment-store';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { applyRefundObservation } from './apply';
import { lockRefund, presentRefund, updateRefund, type RefundRow } from './refund-store';

/** A Stripe answer that settles the question (the request itself was refused), as opposed to an unknown outcome. */
function definitive(e: unknown): boolean {
  const type = (e as Stripe.errors.StripeError)?.type;
  return type === 'StripeInvalidRequestError' || type === 'StripeCardError';
}

/**
 * Sends an approved refund to the processor. The refund row (and its reserved amount) was
 * committed before; its id is the Stripe idempotency key, so a retry, a second approver or the
 * sweep can only ever reach the same Stripe refund. A timeout or 5xx leaves it `submitted` with the
 * outcome unknown — settled later by the webhook or the sweep, never guessed.
 */
export async function submitRefund(knex: Knex, p: Processor, refundId: number): Promise<RefundRow> {
  const refund = (await knex<RefundRow>('refunds').where({ id: refundId }).first())!;
  if (!['approved', 'submitted'].includes(refund.status)) return refund;
  const payment = (await knex<PaymentRow>('payments').where({ id: refund.payment_id }).first())!;
  let created: Stripe.Refund;
  try {
    created = await p.stripe.refunds.create(
      {
        ...(payment.payment_intent_id ? { payment_intent: payment.payment_intent_id } : { charge: payment.charge_id! }),
        amount: refund.amount,
        metadata: { refund_id: refund.public_id, payment_id: payment.public_id, court_code: refund.court_code },
      },
      { idempotencyKey: `courtpay-refund-${refund.public_id}` },
    );
  } catch (e) {
    if (definitive(e)) return markRefused(knex, refund.id, (e as Error).message);
    logger.warn('refund outcome unknown; the webhook or the sweep will settle it', { refundId: refund.public_id, err: (e as Error).message });
    return knex.transaction(async (tx) => {
      const r = await lockRefund(tx, refund.id);
      if (r.status !== 'approved') return r;
      const after = await updateRefund(tx, r.id, { status: 'submitted', submitted_at: new Date() });
      await recordAudit(tx, { action: 'refund.submitted', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: { ...presentRefund(after), outcome: 'unknown' } }, 'system:refund-submit');
      return after;
    });
  }
  await knex.transaction((tx) =>
    applyRefundObservation(tx, refund, { source: 'refund-submit', processorRefundId: created.id, processorStatus: created.status, amount: created.amount, currency: created.currency }),
  );
  return (await knex<RefundRow>('refunds').where({ id: refund.id }).first())!;
}

async function markRefused(knex: Knex, id: number, reason: string): Promise<RefundRow> {
  return knex.transaction(async (tx) => {
    const r = await lockRefund(tx, id);
    if (!['approved', 'submitted'].includes(r.status) || r.processor_refund_id) return r;
    const after = await updateRefund(tx, id, { status: 'failed', failed_at: new Date(), failure_reason: `refused by the processor: ${reason}` });
    await emitCallback(tx, { type: 'refund.failed', invoiceId: r.invoice_id, paymentId: r.payment_id, refundId: r.id });
    await recordAudit(tx, { action: 'refund.failed', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) }, 'system:refund-submit');
    return after;
  });
}
