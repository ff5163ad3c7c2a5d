import type { Knex } from 'knex';
import type { Config } from '../config';
import { remissionsOf } from '../invoices/invoices';
import { courtToday } from '../courts/courts';
import { courtTimeZone, presentInvoice, type InvoiceRow } from '../invoices/present';
import { outstanding } from '../invoices/status';
import { presentPayment, type PaymentRow } from '../payments/payment-store';
import { presentRefund, type RefundRow } from '../refunds/refund-store';
import type { CallbackEvent } from './emit';

export interface FeeTotals {
  due: number;
  paid: number;
  refunded: number;
  outstanding: number;
}

/**
 * The `data` of a callback: the object the event is about, as the API returns it — the invoice for
 * invoice.*, the payment for payment.*, the refund for refund.* and case.refund_due — with the
 * invoice beside a payment or refund, and the case's fee totals (as GET /v1/cases/{n}/fees adds them up).
 */
export async function buildCallbackData(tx: Knex.Transaction, config: Readonly<Config>, event: CallbackEvent) {
  const row = (await tx('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.id', event.invoiceId).first('i.*', 'c.case_number')) as InvoiceRow & { case_number: string };
  const remissions = await remissionsOf(tx, [row.id]);
  const invoice = presentInvoice(config, row, row.case_number, remissions.get(row.id));
  const totals = await caseTotals(tx, row.case_id);
  const payment = event.paymentId ? ((await tx<PaymentRow>('payments').where({ id: event.paymentId }).first()) ?? null) : null;
  const paymentView = payment ? presentPayment(payment, { invoiceId: row.public_id, caseNumber: row.case_number }) : null;
  if (event.refundId) {
    const refund = (await tx<RefundRow>('refunds').where({ id: event.refundId }).first())!;
    const refundPayment = payment ?? (await tx<PaymentRow>('payments').where({ id: refund.payment_id }).first())!;
    return {
      ...presentRefund(refund, { payment_public_id: refundPayment.public_id, invoice_public_id: row.public_id, case_number: row.case_number }, courtToday(courtTimeZone(config, row.court_code))),
      payment: presentPayment(refundPayment, { invoiceId: row.public_id, caseNumber: row.case_number }),
      invoice,
      totals,
    };
  }
  if (paymentView && event.type.startsWith('payment.')) return { ...paymentView, invoice, totals };
  return paymentView ? { ...invoice, payment: paymentView, totals } : { ...invoice, totals };
}

/** The case's fee totals from its invoices' running columns; cancelled invoices owe nothing. */
async function caseTotals(tx: Knex.Transaction, caseId: number): Promise<FeeTotals> {
  const rows = await tx<InvoiceRow>('invoices').where({ case_id: caseId }).select('amount_due', 'paid_amount', 'refunded_amount', 'status');
  const t: FeeTotals = { due: 0, paid: 0, refunded: 0, outstanding: 0 };
  for (const r of rows) {
    const cancelled = r.status === 'cancelled';
    if (!cancelled) t.due += r.amount_due;
    t.paid += r.paid_amount;
    t.refunded += r.refunded_amount;
    t.outstanding += outstanding({ amountDue: r.amount_due, paid: r.paid_amount, refunded: r.refunded_amount, cancelled });
  }
  return t;
}
