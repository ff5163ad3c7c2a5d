import type { Knex } from 'knex';
import { publicId } from '../auth/keys';
import { assertCanSee, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { PaymentRow } from '../payments/payment-store';
import { emitCallback } from '../callbacks/emit';
import { callbackData } from '../callbacks/payload';
import type { Config } from '../config';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import type { PersonSnapshot } from '../auth/maker-checker';
import type { RefundReason } from './reasons';
import { presentRefund, type RefundRow } from './refund-store';
import { RELEASED } from './transitions';

export interface RefundRequest {
  amount: number;
  reasonCode: RefundReason;
  note?: string;
  expectedRefundableAmount?: number;
}

export interface RequestContext {
  /** "api_key:key_…" (or "staff:<login>" for a session) for a clerk, "system:case-outcome" for statutory refunds. */
  requestedBy: string;
  /** The person asking (a session's, or the key's owner); none for a machine or the system. */
  person?: PersonSnapshot | null;
  origin: 'clerk' | 'statutory';
  dueDate?: string | null;
  caseOutcomeId?: number | null;
}

/** Settled money of the payment not yet given back or held by a live refund. Payment row locked by the caller. */
export async function refundable(tx: Knex.Transaction, payment: PaymentRow): Promise<number> {
  const [{ held }] = await tx('refunds').where({ payment_id: payment.id }).whereNotIn('status', RELEASED).sum<{ held: number | null }[]>('amount as held');
  return payment.settled_amount - Number(held ?? 0);
}

function checkAmount(amount: number): void {
  if (!Number.isInteger(amount)) throw new AppError('amount_not_integer', 'amount must be a whole number of fen', 422, { errors: [{ field: 'amount', message: 'must be an integer (fen)' }] });
  if (amount === 0) throw new AppError('amount_zero', 'a refund of nothing is not a refund', 422, { errors: [{ field: 'amount', message: 'must be greater than 0' }] });
  if (amount < 0) throw new AppError('amount_negative', 'amount cannot be negative', 422, { errors: [{ field: 'amount', message: 'must be greater than 0' }] });
}

/**
 * Reserves a refund on a payment. The check and the insert happen under a row lock on the payment,
 * so however many requests arrive together, what they reserve never exceeds what was settled.
 */
export async function requestRefund(tx: Knex.Transaction, config: Readonly<Config>, paymentRef: { publicId?: string; id?: number }, input: RefundRequest, ctx: RequestContext, principal?: Principal) {
  checkAmount(input.amount);
  if (input.reasonCode === 'other' && !input.note?.trim()) throw ValidationError.field('note', 'a note is required when the reason is other', 'note_required');
  const q = tx<PaymentRow>('payments');
  const payment = await (paymentRef.id ? q.where({ id: paymentRef.id }) : q.where({ public_id: paymentRef.publicId! })).forUpdate().first();
  if (!payment) throw new NotFoundError(`payment ${paymentRef.publicId}`);
  if (principal) assertCanSee(principal, payment.court_code, `payment ${paymentRef.publicId}`);
  if (payment.status === 'disputed') throw new ConflictError('payment_disputed', `payment ${payment.public_id} is disputed and cannot be refunded`);
  if (payment.status !== 'succeeded') {
    const code = payment.status === 'pending' ? 'payment_pending' : payment.status === 'failed' ? 'payment_failed' : 'payment_not_settled';
    throw new ConflictError(code, `payment ${payment.public_id} is ${payment.status}; only settled money can be refunded`);
  }
  const available = await refundable(tx, payment);
  if (input.expectedRefundableAmount !== undefined && input.expectedRefundableAmount !== available) {
    throw new AppError('refundable_amount_changed', `the refundable amount is now ${available}, not ${input.expectedRefundableAmount}`, 412, {
      errors: [{ field: 'expectedRefundableAmount', message: `refundable is now ${available}` }],
    });
  }
  if (input.amount > available) {
    throw new AppError('amount_exceeds_refundable', `only ${available} fen of this payment can still be refunded`, 422, { errors: [{ field: 'amount', message: `at most ${available}` }] });
  }
  const [row] = await tx<RefundRow>('refunds')
    .insert({
      public_id: publicId('rf'),
      payment_id: payment.id,
      invoice_id: payment.invoice_id,
      court_code: payment.court_code,
      amount: input.amount,
      reason_code: input.reasonCode,
      note: input.note?.trim() || null,
      origin: ctx.origin,
      case_outcome_id: ctx.caseOutcomeId ?? null,
      requested_by: ctx.requestedBy,
      requested_by_staff_id: ctx.person?.staffId ?? null,
      people: JSON.stringify(ctx.person ? { requested: ctx.person } : {}) as never,
      due_date: ctx.dueDate ?? null,
    })
    .returning('*');
  await emitCallback(tx, { type: 'refund.requested', invoiceId: row.invoice_id, paymentId: payment.id, refundId: row.id }, callbackData(config));
  if (ctx.origin === 'statutory') await emitCallback(tx, { type: 'case.refund_due', invoiceId: row.invoice_id, paymentId: payment.id, refundId: row.id }, callbackData(config));
  await recordAudit(tx, { action: 'refund.requested', entityType: 'refund', entityId: row.public_id, after: presentRefund(row, { payment_public_id: payment.public_id }) }, ctx.origin === 'statutory' ? ctx.requestedBy : undefined);
  return { row, payment, refundableAfter: available - input.amount };
}
