import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import { moveInvoiceMoney } from '../invoices/money';
import { emitCallback } from '../callbacks/emit';
import { callbackData } from '../callbacks/payload';
import type { Config } from '../config';
import { post, transfer } from '../ledger/ledger';
import { lockPaymentAndInvoice } from '../payments/payment-store';
import { lockRefund, presentRefund, updateRefund, type RefundRow } from './refund-store';
import { canMove, fromProcessor, type RefundStatus } from './transitions';

/** What the processor says about one of our refunds: from a webhook, the submit call, or the sweep. */
export interface RefundObservation {
  source: string;
  processorRefundId: string;
  processorStatus: string | null;
  amount?: number;
  currency?: string;
  failureReason?: string | null;
}

export type RefundApplyResult = { kind: 'applied'; status: RefundStatus } | { kind: 'unchanged'; status: RefundStatus } | { kind: 'flagged'; reason: string };

/**
 * Applies the processor's view of a refund in the caller's transaction. Succeeded: ledger, invoice
 * and payment totals move. Failed after succeeding (the bank returned it): all of that is reversed
 * and the amount is free again. Pending or requires_action: we wait.
 */
export async function applyRefundObservation(tx: Knex.Transaction, config: Readonly<Config>, target: Pick<RefundRow, 'id' | 'payment_id' | 'invoice_id'>, o: RefundObservation): Promise<RefundApplyResult> {
  const { invoice, payment } = await lockPaymentAndInvoice(tx, { id: target.payment_id });
  const refund = await lockRefund(tx, target.id);
  const link: Partial<RefundRow> = { processor_status: o.processorStatus };
  if (!refund.processor_refund_id) link.processor_refund_id = o.processorRefundId;
  const wanted = fromProcessor(o.processorStatus);
  if (wanted === 'succeeded' && (o.amount !== refund.amount || (o.currency ?? 'cny').toUpperCase() !== refund.currency)) {
    const reason = `processor refund ${o.processorRefundId} is ${o.amount} ${o.currency}, not ${refund.amount} ${refund.currency}`;
    await updateRefund(tx, refund.id, { ...link, failure_reason: reason });
    await recordAudit(tx, { action: 'refund.flagged', entityType: 'refund', entityId: refund.public_id, after: { reason } }, `processor:${o.source}`);
    return { kind: 'flagged', reason };
  }
  // No outcome yet (pending, requires_action): a refund being submitted is now known to the processor.
  const next: RefundStatus | null = wanted ?? (canMove(refund.status, 'submitted') ? 'submitted' : null);
  if (!next || !canMove(refund.status, next)) {
    await updateRefund(tx, refund.id, link);
    return { kind: 'unchanged', status: refund.status };
  }
  const base = { courtCode: refund.court_code, invoiceId: refund.invoice_id, paymentId: refund.payment_id, refundId: refund.id, source: o.source };
  // Whatever the processor says of a refund, it was sent: one that succeeds or fails straight from
  // the processor's answer (never seen as submitted) still gets the time it was sent.
  const changes: Partial<RefundRow> = { ...link, status: next, submitted_at: refund.submitted_at ?? new Date() };
  if (next === 'succeeded') {
    await post(tx, { ...base, kind: 'refund_settled', description: `refund ${refund.public_id}`, lines: transfer('fee_income', 'processor_clearing', refund.amount) });
    await moveInvoiceMoney(tx, invoice, { refunded: refund.amount });
    await tx('payments').where({ id: payment.id }).update({ refunded_amount: payment.refunded_amount + refund.amount, updated_at: new Date() });
    changes.succeeded_at = new Date();
  } else if (next === 'failed') {
    if (refund.status === 'succeeded') {
      await post(tx, { ...base, kind: 'refund_returned', description: `refund ${refund.public_id} returned`, lines: transfer('processor_clearing', 'fee_income', refund.amount) });
      await moveInvoiceMoney(tx, invoice, { refunded: -refund.amount });
      await tx('payments').where({ id: payment.id }).update({ refunded_amount: payment.refunded_amount - refund.amount, updated_at: new Date() });
    }
    changes.failed_at = new Date();
    changes.failure_reason = o.failureReason ?? `processor status ${o.processorStatus}`;
  }
  const after = await updateRefund(tx, refund.id, changes);
  if (next === 'succeeded' || next === 'failed') await emitCallback(tx, { type: `refund.${next}`, invoiceId: refund.invoice_id, paymentId: refund.payment_id, refundId: refund.id }, callbackData(config));
  await recordAudit(tx, { action: `refund.${next}`, entityType: 'refund', entityId: refund.public_id, before: presentRefund(refund), after: presentRefund(after) }, `processor:${o.source}`);
  return { kind: 'applied', status: next };
}
