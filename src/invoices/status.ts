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

/** What a case's invoices add up to (GET /v1/cases/{n}/fees, the callbacks' `totals`). */
export interface FeeTotals {
  due: number;
  paid: number;
  refunded: number;
  outstanding: number;
}

/** Fee totals over invoices: a cancelled invoice owes nothing, but what was paid on it and given back still counts. */
export function feeTotals(invoices: InvoiceMoney[]): FeeTotals {
  const t: FeeTotals = { due: 0, paid: 0, refunded: 0, outstanding: 0 };
  for (const m of invoices) {
    if (!m.cancelled) t.due += m.amountDue;
    t.paid += m.paid;
    t.refunded += m.refunded;
    t.outstanding += outstanding(m);
  }
  return t;
}

/** Overdue: money still owed after the due date (a court day, in the court's time zone). */
export function isOverdue(m: InvoiceMoney, dueDate: string, today: string): boolean {
  return outstanding(m) > 0 && dueDate < today;
}
