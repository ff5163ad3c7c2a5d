import type { Knex } from 'knex';
import type { InvoiceRow } from './present';
import { deriveStatus } from './status';

/**
 * Moves an invoice's settled totals (inside the caller's transaction, with the invoice row
 * locked) and re-derives its status from them. The only writer of paid/refunded amounts.
 */
export async function moveInvoiceMoney(tx: Knex.Transaction, invoice: InvoiceRow, delta: { paid?: number; refunded?: number }): Promise<InvoiceRow> {
  const paid = invoice.paid_amount + (delta.paid ?? 0);
  const refunded = invoice.refunded_amount + (delta.refunded ?? 0);
  const status = deriveStatus({ amountDue: invoice.amount_due, paid, refunded, cancelled: invoice.status === 'cancelled' });
  const [row] = await tx<InvoiceRow>('invoices')
    .where({ id: invoice.id })
    .update({ paid_amount: paid, refunded_amount: refunded, status, updated_at: tx.fn.now() as never })
    .returning('*');
  return row;
}
