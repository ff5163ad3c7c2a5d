import type { Knex } from 'knex';
import type { PaymentRow } from './payment-store';

/**
 * Which attempts may still take the payer's money through their Checkout Session: a pending one, and
 * one a declined card failed — Stripe keeps that session open (the intent back to
 * requires_payment_method) so the payer can try again on it, until it expires. It stops counting
 * once we know its session can take no more (checkout_closed_at: expired there, retired by us,
 * complete). The pay button reuses or retires such an attempt before it starts another, so an
 * invoice never has two sessions open that could both be paid.
 */
export function mayTakePayment<Q extends Knex.QueryBuilder>(q: Q): Q {
  q.where((w) => w.where('status', 'pending').orWhere((f) => f.where('status', 'failed').whereNotNull('checkout_session_id').whereNull('checkout_closed_at')));
  return q;
}

/** mayTakePayment for a row already read. */
export function attemptMayTakePayment(p: PaymentRow): boolean {
  return p.status === 'pending' || (p.status === 'failed' && p.checkout_session_id !== null && p.checkout_closed_at === null);
}

/** An invoice's attempts that may still take money, latest first, locked (the caller holds the invoice's lock). */
export function lockOpenAttempts(tx: Knex.Transaction, invoiceId: number): Promise<PaymentRow[]> {
  return mayTakePayment(tx<PaymentRow>('payments').where({ invoice_id: invoiceId })).orderBy('id', 'desc').forUpdate();
}
