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
  /** When its Checkout Session was known to take no (more) payment; null: it may still be open (migration 20261201120000). */
  checkout_closed_at: Date | null;
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
  return db<PaymentRow>('payments').whereRaw(`id = ${paymentIdByRef(['?', '?', '?', '?'])}`, refValues(ref)).first();
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

/**
 * The id of the payment the processor's references point at, most specific reference first: the one
 * definition every lookup uses (findPayment, the locking and batch reads, reconciliation's matching).
 * `values`: one SQL expression per REF_COLUMNS entry, in order (`null` for one the caller lacks).
 */
export const paymentIdByRef = (values: string[]) =>
  `(select m.id from (${REF_COLUMNS.map(([, column], k) => `select id, ${k} as k from payments where ${column} = ${values[k]}`).join(' union all ')}) m order by m.k, m.id limit 1)`;
const BY_REF = (values: string[]) => `p.id = ${paymentIdByRef(values)}`;

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
const LOCK_BY_REF_SQL = `select ${STATE_COLUMNS} from ${STATE_FROM('$5::text[]')} where ${BY_REF(['$1', '$2', '$3', '$4'])} for update of i, p`;

// No lock: what the webhook's optimistic path reads for a batch of events — each event's inbox status
// and the payment it points at — in one round trip. $1 event ids, $2..$5 the references, as arrays.
// The inbox lookup is a correlated subquery, not a join: the plan is generic (made once per connection,
// perhaps while the inbox is nearly empty), and a join planned then may hash a full scan of the inbox.
const READ_SQL = `select q.n, (select e.status from processor_events e where e.event_id = q.event_id) as inbox_status, s.*
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) with ordinality as q(event_id, r0, r1, r2, r3, n)
  left join lateral (select ${STATE_COLUMNS} from ${STATE_FROM('$6::text[]')} where ${BY_REF(['q.r0', 'q.r1', 'q.r2', 'q.r3'])}) s on true
  order by q.n`;

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

/** What the optimistic path reads for one event. */
export interface EventPaymentState {
  /** The event's inbox status, if it was recorded before. */
  inboxStatus: string | null;
  state: PaymentState | undefined;
}

/**
 * Reads, without locking, for each event its inbox status and the payment it points at (with its
 * invoice and versions): the first of the webhook's two round trips, for a whole batch of events.
 * A named prepared statement on a pooled connection, outside any transaction.
 */
export async function readPaymentStates(knex: Knex, events: { eventId: string; ref: PaymentRef }[], listenFor: readonly string[]): Promise<EventPaymentState[]> {
  const column = (k: number) => events.map((e) => refValues(e.ref)[k]);
  const rows = await preparedQuery<StateRow & { inbox_status: string | null }>(knex, 'payment_states_for_events', READ_SQL, [
    events.map((e) => e.eventId), column(0), column(1), column(2), column(3), textArray(listenFor),
  ]);
  return rows.map((row) => ({ inboxStatus: row.inbox_status, state: toState(row) }));
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
