import type { Knex } from 'knex';
import { preparedQuery, type Queryable } from '../db';
import type { CaseInvoiceMoney } from '../callbacks/payload';
import type { InvoiceRow, RemissionRow } from '../invoices/present';
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

/** A payment and its invoice as read (or locked), with what the one-statement settlement needs beside them. */
export interface PaymentState extends Locked {
  /** The rows' xmin when read: the statement that writes the change compares them (compare-and-set). */
  versions: { invoice: string; payment: string };
  caseNumber: string;
  /** Enabled endpoints of the invoice's court subscribed to any of the callback types asked for. */
  listeners: { id: number; types: string[] }[];
  /** Read only when someone listens: what a callback's data is made of. */
  remissions: RemissionRow[];
  caseInvoices: CaseInvoiceMoney[];
}

const REF_COLUMNS: [keyof PaymentRef, keyof PaymentRow][] = [
  ['paymentId', 'public_id'],
  ['checkoutSessionId', 'checkout_session_id'],
  ['paymentIntentId', 'payment_intent_id'],
  ['chargeId', 'charge_id'],
];

// The payment a reference points at, most specific reference first ($1..$4 in REF_COLUMNS order).
const BY_REF = (n: number) => `p.id = (select m.id from (${REF_COLUMNS.map(([, column], k) => `select id, ${k} as k from payments where ${column} = $${n + k}`).join(' union all ')}) m order by m.k limit 1)`;

// Callback sources are read only when an endpoint listens, so a court without case-system callbacks pays nothing for them.
const STATE_COLUMNS = `to_jsonb(i) as invoice, to_jsonb(p) as payment, i.xmin::text as invoice_version, p.xmin::text as payment_version, c.case_number, l.listeners,
  case when l.listeners is not null then (select coalesce(jsonb_agg(to_jsonb(r) order by r.id), '[]'::jsonb) from invoice_remissions r where r.invoice_id = i.id) end as remissions,
  case when l.listeners is not null then (select jsonb_agg(jsonb_build_object('id', x.id, 'amount_due', x.amount_due, 'paid_amount', x.paid_amount, 'refunded_amount', x.refunded_amount, 'status', x.status))
    from invoices x where x.case_id = i.case_id) end as case_invoices`;
const STATE_FROM = (types: string) => `payments p join invoices i on i.id = p.invoice_id join cases c on c.id = i.case_id
  left join lateral (select jsonb_agg(jsonb_build_object('id', e.id, 'types', e.event_types) order by e.id) as listeners from callback_endpoints e
    where e.enabled and e.event_types && ${types} and (e.all_courts or i.court_code = any(e.court_codes))) l on true`;

// Locks the invoice, then the payment — always in that order (invoices come first in the range table,
// and rows are locked in that order), so two movers never deadlock.
const LOCK_BY_ID_SQL = `select ${STATE_COLUMNS} from ${STATE_FROM('$2::text[]')} where p.id = $1 for update of i, p`;
const LOCK_BY_REF_SQL = `select ${STATE_COLUMNS} from ${STATE_FROM('$5::text[]')} where ${BY_REF(1)} for update of i, p`;

// No lock: what the webhook's optimistic path reads, with the event's inbox status, in one round trip.
const READ_SQL = `select e.status as inbox_status, s.* from (select 1) one
  left join processor_events e on e.event_id = $1
  left join lateral (select ${STATE_COLUMNS} from ${STATE_FROM('$6::text[]')} where ${BY_REF(2)}) s on true`;

type StateRow = {
  invoice: Record<string, unknown> | null;
  payment: Record<string, unknown> | null;
  invoice_version: string;
  payment_version: string;
  case_number: string;
  listeners: PaymentState['listeners'] | null;
  remissions: Record<string, unknown>[] | null;
  case_invoices: CaseInvoiceMoney[] | null;
};

function toState(r: StateRow): PaymentState | undefined {
  if (!r.payment || !r.invoice) return undefined;
  return {
    invoice: revive(r.invoice) as unknown as InvoiceRow,
    payment: revive(r.payment) as unknown as PaymentRow,
    versions: { invoice: r.invoice_version, payment: r.payment_version },
    caseNumber: r.case_number,
    listeners: r.listeners ?? [],
    remissions: (r.remissions ?? []).map((m) => revive(m, ['created_at']) as unknown as RemissionRow),
    caseInvoices: r.case_invoices ?? [],
  };
}

const refValues = (ref: PaymentRef) => REF_COLUMNS.map(([key]) => ref[key] ?? null);

/**
 * Locks a payment and its invoice (invoice first) in the caller's transaction, by row id or by the
 * processor's references (most specific first, one round trip). `listenFor`: the callback types the
 * caller may emit, so their listeners (and, if any, the callback sources) come back in the same read.
 * Undefined when no payment of ours matches.
 */
export async function lockPayment(tx: Knex.Transaction, by: { id: number } | PaymentRef, listenFor: readonly string[] = []): Promise<PaymentState | undefined> {
  const { rows } = 'id' in by ? await rawPg(tx, LOCK_BY_ID_SQL, [by.id, textArray(listenFor)]) : await rawPg(tx, LOCK_BY_REF_SQL, [...refValues(by), textArray(listenFor)]);
  return rows.length ? toState(rows[0]) : undefined;
}

export async function lockPaymentAndInvoice(tx: Knex.Transaction, payment: Pick<PaymentRow, 'id'>): Promise<PaymentState> {
  return (await lockPayment(tx, { id: payment.id }))!;
}

/**
 * Reads, without locking, the inbox status of an event and the payment it points at (with its
 * invoice and versions): the first of the webhook's two round trips. A named prepared statement
 * on a pooled connection, outside any transaction.
 */
export async function readPaymentState(knex: Knex, eventId: string, ref: PaymentRef, listenFor: readonly string[]): Promise<{ inboxStatus: string | null; state: PaymentState | undefined }> {
  const [row] = await preparedQuery<StateRow & { inbox_status: string | null }>(knex, 'payment_state_for_event', READ_SQL, [eventId, ...refValues(ref), textArray(listenFor)]);
  return { inboxStatus: row.inbox_status, state: toState(row) };
}

/** Runs a statement written with $n placeholders (shared with the prepared one) through knex.raw, which takes ?. */
export function rawPg(db: Queryable, sql: string, values: unknown[]) {
  const bindings: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    bindings.push(values[Number(n) - 1]);
    return '?';
  });
  return db.raw(text, bindings as Knex.RawBinding[]);
}

/** A Postgres text[] literal (knex would spread a JS array into a list). For plain identifiers such as callback types. */
export const textArray = (xs: readonly string[]) => `{${xs.map((x) => JSON.stringify(x)).join(',')}}`;

/** to_jsonb gives bigint as numbers already; timestamps come back as strings: make them Dates again. */
function revive(row: Record<string, unknown>, keys?: string[]): Record<string, unknown> {
  for (const k of keys ?? Object.keys(row).filter((key) => key.endsWith('_at'))) {
    if (typeof row[k] === 'string') row[k] = new Date(row[k] as string);
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
