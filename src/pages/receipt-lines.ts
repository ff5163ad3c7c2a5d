import type { Knex } from 'knex';
import type { InvoiceRow } from '../invoices/present';
import type { PaymentRow } from '../payments/payment-store';
import { isSettled } from '../payments/transitions';
import type { RefundRow } from '../refunds/refund-store';
import type { ReceiptLine } from './receipt';

export interface ReceiptFacts {
  payments: ReceiptLine[];
  refunds: ReceiptLine[];
  /**
   * 回单号: the invoice's public id and how many of its payments have settled. The same for every
   * view until another payment settles; not an official numbered 电子票据 (the court issues those).
   */
  reference: string;
  /** When this page was produced (ISO). */
  issuedAt: string;
}

/** The time a refund reached the state it is in. */
function refundTime(r: RefundRow): Date {
  if (r.status === 'succeeded') return r.succeeded_at ?? r.updated_at;
  if (r.status === 'failed') return r.failed_at ?? r.updated_at;
  if (r.status === 'submitting' || r.status === 'submitted') return r.submitted_at ?? r.updated_at;
  if (r.status === 'rejected') return r.rejected_at ?? r.updated_at;
  if (r.status === 'cancelled') return r.cancelled_at ?? r.updated_at;
  if (r.status === 'approved') return r.approved_at ?? r.updated_at;
  return r.created_at;
}

/** Every payment and every refund of one invoice, as the receipt lists them. */
export async function receiptFacts(db: Knex, invoice: Pick<InvoiceRow, 'id' | 'public_id'>, payments: PaymentRow[], now = new Date()): Promise<ReceiptFacts> {
  const refunds = await db<RefundRow>('refunds').where({ invoice_id: invoice.id }).orderBy('id');
  const byPayment = new Map(payments.map((p) => [p.id, p]));
  const settled = payments.filter((p) => isSettled(p.status)).length;
  return {
    payments: payments.map((p) => ({ id: p.public_id, amount: p.settled_amount || p.amount, at: (p.settled_at ?? p.created_at).toISOString(), method: p.payment_method_type, status: p.status })),
    refunds: refunds.map((r) => ({ id: r.public_id, amount: r.amount, at: refundTime(r).toISOString(), method: byPayment.get(r.payment_id)?.payment_method_type ?? null, status: r.status })),
    reference: `${invoice.public_id}-${String(settled).padStart(2, '0')}`,
    issuedAt: now.toISOString(),
  };
}
