import type { Knex } from 'knex';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import { remissionsOf } from '../invoices/invoice-queries';
import { courtTimeZone, money, presentInvoice, type InvoiceRow, type RemissionRow } from '../invoices/present';
import { feeTotals } from '../invoices/status';
import { presentPayment, type PaymentRow } from '../payments/payment-store';
import { presentRefund, type RefundRow } from '../refunds/refund-store';
import type { CallbackEvent, CallbackPresenter, CallbackType } from './emit';

/** The money columns of each of the case's invoices, for its fee totals. */
export type CaseInvoiceMoney = Pick<InvoiceRow, 'id' | 'amount_due' | 'paid_amount' | 'refunded_amount' | 'status'>;

/** Everything a callback's `data` is made of, as it stands right after the change. */
export interface CallbackSources {
  invoice: InvoiceRow;
  caseNumber: string;
  remissions: RemissionRow[];
  /** The case's invoices; the one in `invoice` is taken from there, so a caller may pass them as read before the change. */
  caseInvoices: CaseInvoiceMoney[];
  payment: PaymentRow | null;
  refund?: { row: RefundRow; payment: PaymentRow };
}

/** Reads the sources of a callback in the caller's transaction (after the change). */
export async function loadCallbackSources(tx: Knex.Transaction, event: CallbackEvent): Promise<CallbackSources> {
  const row = (await tx('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.id', event.invoiceId).first('i.*', 'c.case_number')) as InvoiceRow & { case_number: string };
  const remissions = (await remissionsOf(tx, [row.id])).get(row.id) ?? [];
  const caseInvoices = await tx<InvoiceRow>('invoices').where({ case_id: row.case_id }).select('id', 'amount_due', 'paid_amount', 'refunded_amount', 'status');
  const payment = event.paymentId ? ((await tx<PaymentRow>('payments').where({ id: event.paymentId }).first()) ?? null) : null;
  let refund: CallbackSources['refund'];
  if (event.refundId) {
    const r = (await tx<RefundRow>('refunds').where({ id: event.refundId }).first())!;
    refund = { row: r, payment: payment ?? (await tx<PaymentRow>('payments').where({ id: r.payment_id }).first())! };
  }
  return { invoice: row, caseNumber: row.case_number, remissions, caseInvoices, payment, refund };
}

/**
 * The `data` of a callback: the object the event is about, as the API returns it — the invoice for
 * invoice.*, the payment for payment.*, the refund for refund.* and case.refund_due — with the
 * invoice beside a payment or refund, and the case's fee totals (as GET /v1/cases/{n}/fees adds them up).
 * Pure: the webhook's one-statement settlement presents what it is about to write with it.
 */
export function presentCallbackData(config: Readonly<Config>, s: CallbackSources, type: CallbackType) {
  const row = s.invoice;
  const invoice = presentInvoice(config, row, s.caseNumber, s.remissions);
  const totals = feeTotals(s.caseInvoices.map((i) => money(i.id === row.id ? row : i)));
  const view = { invoiceId: row.public_id, caseNumber: s.caseNumber };
  const paymentView = s.payment ? presentPayment(s.payment, view) : null;
  if (s.refund) {
    const today = courtToday(courtTimeZone(config, row.court_code));
    return {
      ...presentRefund(s.refund.row, { payment_public_id: s.refund.payment.public_id, invoice_public_id: row.public_id, case_number: s.caseNumber }, today),
      payment: presentPayment(s.refund.payment, view),
      invoice,
      totals,
    };
  }
  if (paymentView && type.startsWith('payment.')) return { ...paymentView, invoice, totals };
  return paymentView ? { ...invoice, payment: paymentView, totals } : { ...invoice, totals };
}

/** The presenter emitCallback is given: the sources read in the emitting transaction, presented with this configuration. */
export function callbackData(config: Readonly<Config>): CallbackPresenter {
  return async (tx, event) => presentCallbackData(config, await loadCallbackSources(tx, event), event.type);
}
