import type { Knex } from 'knex';
import type Stripe from 'stripe';
import { recordAudit } from '../audit/record';
import { emitCallback } from '../callbacks/emit';
import { callbackData } from '../callbacks/payload';
import type { Config } from '../config';
import type { PaymentRow } from '../payments/payment-store';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { applyRefundObservation } from './apply';
import { lockRefund, presentRefund, updateRefund, type RefundRow } from './refund-store';
import { canMove } from './transitions';

const ACTOR = 'system:refund-submit';

/** A Stripe answer that settles the question (the request itself was refused), as opposed to an unknown outcome. */
function definitive(e: unknown): boolean {
  const type = (e as Stripe.errors.StripeError)?.type;
  return type === 'StripeInvalidRequestError' || type === 'StripeCardError';
}

/** A refund whose submission is under way or unanswered: (re)sending it can only reach the same processor refund. */
export const awaitingProcessor = (r: Pick<RefundRow, 'status' | 'processor_refund_id'>) =>
  (r.status === 'submitting' || r.status === 'submitted') && !r.processor_refund_id;

/**
 * Sends an approved refund to the processor. First `submitting` is committed on its own: from that
 * moment a submission may reach the processor, so no one can cancel the refund any more. Then the
 * processor is called with no transaction open, the refund's id as idempotency key, so a retry, a
 * second approver or the sweep can only ever reach the same Stripe refund. Its answer is applied in
 * a new transaction. A refusal fails it; a timeout or 5xx leaves it `submitted` with the outcome
 * unknown — settled later by the webhook or the sweep, never guessed.
 */
export async function submitRefund(knex: Knex, config: Readonly<Config>, p: Processor, refundId: number): Promise<RefundRow> {
  const before = (await knex<RefundRow>('refunds').where({ id: refundId }).first())!;
  const refund = await beginSubmission(knex, refundId);
  if (!awaitingProcessor(refund)) return refund;
  const payment = (await knex<PaymentRow>('payments').where({ id: refund.payment_id }).first())!;
  // A re-send (the refund was already under way): the first request may have reached the processor
  // longer ago than its idempotency keys live (24 h), so ask for the refund by our id before sending
  // again — a key the processor has forgotten would otherwise make it a second time. A look-up that
  // fails decides nothing: it throws, the refund stays as it is, and the sweep asks again.
  const earlier = awaitingProcessor(before) ? await findAtProcessor(p, payment, refund.public_id) : null;
  let created: Stripe.Refund;
  try {
    created = earlier ?? await p.stripe.refunds.create(
      {
        ...(payment.payment_intent_id ? { payment_intent: payment.payment_intent_id } : { charge: payment.charge_id! }),
        amount: refund.amount,
        metadata: { refund_id: refund.public_id, payment_id: payment.public_id, court_code: refund.court_code },
      },
      { idempotencyKey: `courtpay-refund-${refund.public_id}` },
    );
  } catch (e) {
    if (definitive(e)) return markRefused(knex, config, refund.id, (e as Error).message);
    logger.warn('refund outcome unknown; the webhook or the sweep will settle it', { refundId: refund.public_id, err: (e as Error).message });
    return markUnknown(knex, refund.id);
  }
  await knex.transaction((tx) =>
    applyRefundObservation(tx, config, refund, { source: 'refund-submit', processorRefundId: created.id, processorStatus: created.status, amount: created.amount, currency: created.currency }),
  );
  return (await knex<RefundRow>('refunds').where({ id: refund.id }).first())!;
}

/** The processor's refund made for ours (its metadata names our refund id), if there is one. */
async function findAtProcessor(p: Processor, payment: PaymentRow, refundPublicId: string): Promise<Stripe.Refund | null> {
  const filter = payment.payment_intent_id ? { payment_intent: payment.payment_intent_id } : { charge: payment.charge_id! };
  for await (const r of p.stripe.refunds.list({ ...filter, limit: 100 })) {
    if (r.metadata?.refund_id === refundPublicId) return r;
  }
  return null;
}

/** approved → submitting, committed before the call. A refund already under way is returned as it is. */
async function beginSubmission(knex: Knex, id: number): Promise<RefundRow> {
  return knex.transaction(async (tx) => {
    const r = await lockRefund(tx, id);
    if (!canMove(r.status, 'submitting')) return r;
    const after = await updateRefund(tx, id, { status: 'submitting', submitted_at: new Date() });
    await recordAudit(tx, { action: 'refund.submitting', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) }, ACTOR);
    return after;
  });
}

/** No answer (timeout, 5xx, connection lost): sent, outcome unknown. A webhook may have settled it meanwhile. */
async function markUnknown(knex: Knex, id: number): Promise<RefundRow> {
  return knex.transaction(async (tx) => {
    const r = await lockRefund(tx, id);
    if (r.status !== 'submitting' || !canMove(r.status, 'submitted')) return r;
    const after = await updateRefund(tx, r.id, { status: 'submitted', submitted_at: r.submitted_at ?? new Date() });
    await recordAudit(tx, { action: 'refund.submitted', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: { ...presentRefund(after), outcome: 'unknown' } }, ACTOR);
    return after;
  });
}

async function markRefused(knex: Knex, config: Readonly<Config>, id: number, reason: string): Promise<RefundRow> {
  return knex.transaction(async (tx) => {
    const r = await lockRefund(tx, id);
    if (!awaitingProcessor(r) || !canMove(r.status, 'failed')) return r;
    const after = await updateRefund(tx, id, { status: 'failed', failed_at: new Date(), failure_reason: `refused by the processor: ${reason}` });
    await emitCallback(tx, { type: 'refund.failed', invoiceId: r.invoice_id, paymentId: r.payment_id, refundId: r.id }, callbackData(config));
    await recordAudit(tx, { action: 'refund.failed', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) }, ACTOR);
    return after;
  });
}
