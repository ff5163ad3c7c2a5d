/** Invoice status is derived from money actually settled, never set by hand (but for cancellation). */
export type InvoiceStatus = 'unpaid' | 'partially_paid' | 'paid' | 'overpaid' | 'partially_refunded' | 'refunded' | 'cancelled';
export const INVOICE_STATUSES: readonly InvoiceStatus[] = ['unpaid', 'partially_paid', 'paid', 'overpaid', 'partially_refunded', 'refunded', 'cancelled'];

export interface InvoiceMoney {
  amountDue: number;
  paid: number;
  refunded: number;
  cancelled: boolean;
}

export function deriveStatus(m: InvoiceMoney): InvoiceStatus {
  if (m.cancelled) return 'cancelled';
  if (m.refunded > 0) return m.refunded >= m.paid ? 'refunded' : 'partially_refunded';
  if (m.paid === 0) return m.amountDue === 0 ? 'paid' : 'unpaid'; // exempted: settled at zero (Art. 44)
  if (m.paid < m.amountDue) return 'partially_paid';
  return m.paid === m.amountDue ? 'paid' : 'overpaid';
}

export function outstanding(m: InvoiceMoney): number {
  return m.cancelled ? 0 : Math.max(0, m.amountDue - m.paid);
}

/** Overdue: money still owed after the due date (a court day, in the court's time zone). */
export function isOverdue(m: InvoiceMoney, dueDate: string, today: string): boolean {
  return outstanding(m) > 0 && dueDate < today;
}
