import type { Knex } from 'knex';
import type { Queryable } from '../db';
import type { InvoiceRow } from '../invoices/present';
import type { DisputeStatus, PaymentStatus } from './transitions';

export interface PaymentRow {
  id: number;
  public_id: string;
  invoice_id: number;
  court_code: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  processor: 'stripe' | 'sandbox';
  checkout_session_id: string | null;
  checkout_url: string | null;
  payment_intent_id: string | null;
  charge_id: string | null;
  payment_method_type: string | null;
  expires_at: Date;
  settled_amount: number;
  refunded_amount: number;
  processor_fee: number | null;
  dispute_status: DisputeStatus | null;
  dispute_id: string | null;
  flagged_at: Date | null;
  flag_reason: string | null;
  failure_reason: string | null;
  settled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** How an event or a retrieved object points at one of our payments, most specific first. */
export interface PaymentRef {
  paymentId?: string | null;
  checkoutSessionId?: string | null;
  paymentIntentId?: string | null;
  chargeId?: string | null;
}

export async function findPayment(db: Queryable, ref: PaymentRef): Promise<PaymentRow | undefined> {
  for (const [key, column] of REF_COLUMNS) {
    const value = ref[key];
    if (!value) continue;
    const row = await db<PaymentRow>('payments').where(column, value).first();
    if (row) return row;
  }
  return undefined;
}

export interface Locked {
  invoice: InvoiceRow;
  payment: PaymentRow;
}

const REF_COLUMNS: [keyof PaymentRef, keyof PaymentRow][] = [
  ['paymentId', 'public_id'],
  ['checkoutSessionId', 'checkout_session_id'],
  ['paymentIntentId', 'payment_intent_id'],
  ['chargeId', 'charge_id'],
];

/**
 * Locks the invoice, then the payment — always in that order (invoices come first in the range
 * table, and rows are locked in that order), so two movers never deadlock. One round trip per
 * reference tried, most specific first; undefined when no payment of ours matches.
 */
export async function lockPayment(tx: Knex.Transaction, by: { id: number } | PaymentRef): Promise<Locked | undefined> {
  const tries: [string, string | number][] = 'id' in by ? [['id', by.id]] : REF_COLUMNS.filter(([ref]) => by[ref]).map(([ref, column]) => [column, by[ref]!]);
  for (const [column, value] of tries) {
    const { rows } = await tx.raw(
      `select to_jsonb(i) as invoice, to_jsonb(p) as payment from invoices i join payments p on p.invoice_id = i.id where p.${column} = ? for update of i, p`,
      [value],
    );
    if (rows.length) return { invoice: revive(rows[0].invoice) as unknown as InvoiceRow, payment: revive(rows[0].payment) as unknown as PaymentRow };
  }
  return undefined;
}

export async function lockPaymentAndInvoice(tx: Knex.Transaction, payment: Pick<PaymentRow, 'id'>): Promise<Locked> {
  return (await lockPayment(tx, { id: payment.id }))!;
}

/** to_jsonb gives bigint as numbers already; timestamps come back as strings: make them Dates again. */
function revive(row: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(row)) {
    if (k.endsWith('_at') && typeof row[k] === 'string') row[k] = new Date(row[k] as string);
  }
  return row;
}

export function presentPayment(p: PaymentRow, extra: { invoiceId?: string; caseNumber?: string } = {}) {
  return {
    id: p.public_id,
    ...extra,
    courtCode: p.court_code,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    settledAmount: p.settled_amount,
    refundedAmount: p.refunded_amount,
    processor: p.processor,
    checkoutSessionId: p.checkout_session_id,
    paymentIntentId: p.payment_intent_id,
    chargeId: p.charge_id,
    paymentMethodType: p.payment_method_type,
    processorFee: p.processor_fee,
    disputeStatus: p.dispute_status,
    flagged: p.flagged_at ? { at: p.flagged_at, reason: p.flag_reason } : null,
    failureReason: p.failure_reason,
    expiresAt: p.expires_at,
    createdAt: p.created_at,
    settledAt: p.settled_at,
  };
}
