import type { Knex } from 'knex';

/** What a case system can subscribe to (API.md, issue 6). */
export const CALLBACK_TYPES = [
  'invoice.issued', 'invoice.paid', 'invoice.partially_paid', 'invoice.overdue', 'invoice.cancelled',
  'payment.failed', 'payment.disputed', 'refund.requested', 'refund.succeeded', 'refund.failed', 'case.refund_due',
] as const;
export type CallbackType = (typeof CALLBACK_TYPES)[number];

/** The change a case system is told about; ids are internal row ids of the rows the change touched. */
export interface CallbackEvent {
  type: CallbackType;
  invoiceId: number;
  paymentId?: number;
  refundId?: number;
}

/**
 * Writes the callback messages for a change into the outbox, in the transaction that made the
 * change — so a rolled-back change emits nothing and a crash after commit loses nothing.
 * (Placeholder until the callbacks module lands: records nothing.)
 */
export async function emitCallback(_tx: Knex.Transaction, _event: CallbackEvent): Promise<void> {}
