import type { Knex } from 'knex';
import type { InvoiceRow } from './present';
import { deriveStatus } from './status';

/** The invoice after its settled totals move by delta, with its status re-derived from them. Pure. */
export function invoiceAfterMove(invoice: InvoiceRow, delta: { paid?: number; refunded?: number }, now: Date): InvoiceRow {
  const paid = invoice.paid_amount + (delta.paid ?? 0);
  const refunded = invoice.refunded_amount + (delta.refunded ?? 0);
  const status = deriveStatus({ amountDue: invoice.amount_due, paid, refunded, cancelled: invoice.status === 'cancelled' });
  return { ...invoice, paid_amount: paid, refunded_amount: refunded, status, updated_at: now };
}

/**
 * Moves an invoice's settled totals (inside the caller's transaction, with the invoice row
 * locked) and re-derives its status from them. With invoiceAfterMove, the only writer of
 * paid/refunded amounts (the payment settlement statement writes what invoiceAfterMove gives).
 */
export async function moveInvoiceMoney(tx: Knex.Transaction, invoice: InvoiceRow, delta: { paid?: number; refunded?: number }): Promise<InvoiceRow> {
  const after = invoiceAfterMove(invoice, delta, new Date());
  const [row] = await tx<InvoiceRow>('invoices')
    .where({ id: invoice.id })
    .update({ paid_amount: after.paid_amount, refunded_amount: after.refunded_amount, status: after.status, updated_at: after.updated_at })
    .returning('*');
  return row;
}

/**
 * An invoice asking for a new amount (a court's remission, a case outcome), with its status
 * re-derived from the money settled against it; `extra` columns change with it.
 */
export async function setAmountDue(tx: Knex.Transaction, invoice: InvoiceRow, amountDue: number, extra: Partial<Pick<InvoiceRow, 'due_date'>> = {}): Promise<InvoiceRow> {
  const status = deriveStatus({ amountDue, paid: invoice.paid_amount, refunded: invoice.refunded_amount, cancelled: invoice.status === 'cancelled' });
  const [row] = await tx<InvoiceRow>('invoices')
    .where({ id: invoice.id })
    .update({ amount_due: amountDue, ...extra, status, updated_at: tx.fn.now() as never })
    .returning('*');
  return row;
}
