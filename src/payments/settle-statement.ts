import type { Knex } from 'knex';
import type { AuditRow } from '../audit/record';
import type { CallbackMessageRow } from '../callbacks/emit';
import { databaseMessage, preparedQuery, type Queryable } from '../db';
import type { InvoiceRow } from '../invoices/present';
import type { postingRow } from '../ledger/ledger';
import { rawPg, type PaymentRow, type PaymentState } from './payment-store';

/** The processor event a settlement records in the inbox, with the outcome of applying it. */
export interface InboxClaim {
  event_id: string;
  type: string;
  object_id: string | null;
  livemode: boolean;
  status: 'processed' | 'ignored' | 'flagged';
  note: string | null;
}

/** What one observation changes, decided in TypeScript (planObservation) and written here. */
export interface SettlementWrite {
  /** The payment's changed columns; null: nothing to change, but the payment must still be as read. */
  payment: Partial<PaymentRow> | null;
  /** The invoice's money columns after the change; null: unchanged. */
  invoice: Pick<InvoiceRow, 'paid_amount' | 'refunded_amount' | 'status' | 'updated_at'> | null;
  /** A posting of this payment (payment_id set): lines are matched to their transaction by it. */
  posting: ReturnType<typeof postingRow>;
  audit: (Omit<AuditRow, 'before' | 'after'> & { before: unknown; after: unknown }) | null;
  callbacks: CallbackMessageRow[];
}

/** One settlement of a statement: the rows as read, what to write, and (from the webhook) the event to claim. */
export interface Settlement {
  state: PaymentState | undefined;
  write: SettlementWrite | null;
  /** The event (as received, JSON text) and its inbox row; without it the caller already claimed it. */
  claim?: { row: InboxClaim; payload: string };
}

export class ConcurrentChangeError extends Error {}

/**
 * Any number of settlements in one statement, so they are atomic without BEGIN/COMMIT round trips:
 * each one's inbox claim (when given), its invoice and payment updates as compare-and-set on the
 * versions read (invoices first, the order the locking path takes), its ledger transaction and lines,
 * its audit row and callback outbox rows. Everything of a settlement hangs off its claim: a duplicate
 * event changes nothing. If any row changed since it was read, courtpay_require aborts the whole
 * statement (40001), claims included. $1 is the settlements as a jsonb array (n = position), $2 the
 * events' payloads as a jsonb array: the text never varies, so it is prepared once per connection.
 * The hash chains' heads of the courts it appends to (migration 20261201100000) are locked first,
 * in one order, before any ledger or audit row: two statements over the same courts queue, never deadlock.
 * A payment's audit row carries the payment's court, so the chain trigger need not look it up.
 */
const SETTLE_SQL = `with
x as (
  select * from jsonb_to_recordset($1::jsonb) as x(n int, event_id text, type text, object_id text, livemode boolean, status text, note text,
    payment_id bigint, payment_version text, payment jsonb, invoice_id bigint, invoice_version text, invoice jsonb, posting jsonb, audit jsonb, callbacks jsonb)
),
claim as (
  insert into processor_events as e (event_id, type, object_id, livemode, payload, status, note, processed_at)
  select x.event_id, x.type, x.object_id, x.livemode, $2::jsonb -> x.n, x.status, x.note, now() from x where x.event_id is not null
  on conflict (event_id) do update set attempts = e.attempts + 1, payload = excluded.payload, status = excluded.status, note = excluded.note,
    last_error = null, processed_at = now()
   where e.status = 'failed'
  returning e.event_id
),
go as (select x.* from x where x.event_id is null union all select x.* from x join claim c on c.event_id = x.event_id),
inv as (
  update invoices i set (paid_amount, refunded_amount, status, updated_at)
    = (select r.paid_amount, r.refunded_amount, r.status, r.updated_at from jsonb_populate_record(i, go.invoice) r)
  from go where i.id = go.invoice_id and i.xmin = go.invoice_version::xid and go.invoice is not null
  returning go.n
),
go_pay as (select go.* from go where go.invoice is null union all select go.* from go join inv on inv.n = go.n),
pay as (
  update payments p set (status, settled_amount, settled_at, failure_reason, checkout_session_id, checkout_closed_at, payment_intent_id, charge_id,
      payment_method_type, flagged_at, flag_reason, updated_at)
    = (select r.status, r.settled_amount, r.settled_at, r.failure_reason, r.checkout_session_id, r.checkout_closed_at, r.payment_intent_id, r.charge_id,
      r.payment_method_type, r.flagged_at, r.flag_reason, r.updated_at from jsonb_populate_record(p, go_pay.payment) r)
  from go_pay where p.id = go_pay.payment_id and p.xmin = go_pay.payment_version::xid and go_pay.payment is not null
  returning go_pay.n, go_pay.posting, go_pay.audit, go_pay.callbacks, p.public_id, p.court_code
),
held as (
  select go.n from payments p join go on p.id = go.payment_id and p.xmin = go.payment_version::xid
   where go.payment is null and go.payment_id is not null for update of p
),
heads as (
  select h.chain from chain_heads h
   where h.chain in (select pay.court_code from pay where pay.posting is not null or pay.audit is not null)
   order by h.chain for update of h
),
lt as (
  insert into ledger_transactions (kind, court_code, invoice_id, payment_id, refund_id, source, description)
  select t.kind, t.court_code, t.invoice_id, t.payment_id, t.refund_id, t.source, t.description
    from pay, jsonb_to_record(pay.posting) as t(kind text, court_code text, invoice_id bigint, payment_id bigint, refund_id bigint, source text, description text)
   where pay.posting is not null and (select count(*) from heads) >= 0
  returning id, payment_id
),
le as (
  insert into ledger_entries (transaction_id, account, court_code, invoice_id, amount)
  select lt.id, l.account, pay.posting ->> 'court_code', (pay.posting ->> 'invoice_id')::bigint, l.amount
    from pay join lt on lt.payment_id = (pay.posting ->> 'payment_id')::bigint, jsonb_to_recordset(pay.posting -> 'lines') as l(account text, amount bigint)
),
aud as (
  insert into audit_events (actor_type, actor_id, action, entity_type, entity_id, request_id, before, after, court_code)
  select a.actor_type, a.actor_id, a.action, a.entity_type, a.entity_id, a.request_id, a.before, a.after,
      case when a.entity_type = 'payment' and a.entity_id = pay.public_id then pay.court_code end
    from pay, jsonb_to_record(pay.audit) as a(actor_type text, actor_id text, action text, entity_type text, entity_id text, request_id text, before jsonb, after jsonb)
   where pay.audit is not null and (select count(*) from heads) >= 0
),
cb as (
  insert into callback_messages (public_id, endpoint_id, invoice_id, type, payload, created_at)
  select m.public_id, m.endpoint_id, m.invoice_id, m.type, m.payload, m.created_at
    from pay, jsonb_to_recordset(pay.callbacks) as m(public_id text, endpoint_id bigint, invoice_id bigint, type text, payload text, created_at timestamptz)
)
select coalesce((select array_agg(event_id) from claim), '{}') as claimed,
  courtpay_require(
    (select count(*) from pay) + (select count(*) from held) = (select count(*) from go where payment_id is not null)
      and (select count(*) from inv) = (select count(*) from go where invoice is not null),
    'a payment or its invoice changed while the change was being applied') as ok`;

const SERIALIZATION_FAILURE = '40001';
const DEADLOCK = '40P01';

/**
 * Writes settlements: in the caller's transaction (rows already locked, so the compare-and-set
 * holds), or — with `db` the plain knex — as one autocommitted prepared statement. Two
 * settlements must not touch the same payment or invoice. Returns the event ids whose claim was
 * taken (an event not among them was already recorded: nothing of its settlement was written).
 * Throws ConcurrentChangeError when rows moved since they were read; then nothing was written.
 */
export async function writeSettlements(db: Queryable, settlements: Settlement[]): Promise<Set<string>> {
  const items = settlements.map(({ state, write: w, claim }, n) => ({
    n,
    ...(claim ? claim.row : {}),
    payment_id: state?.payment.id ?? null,
    payment_version: state?.versions.payment ?? null,
    payment: w?.payment ?? null,
    invoice_id: state?.invoice.id ?? null,
    invoice_version: state?.versions.invoice ?? null,
    invoice: w?.invoice ?? null,
    posting: w?.posting ?? null,
    audit: w?.audit ?? null,
    callbacks: w?.callbacks ?? [],
  }));
  // The payloads are JSON already: joined into an array, not re-encoded.
  const values = [JSON.stringify(items), `[${settlements.map((s) => s.claim?.payload ?? 'null').join(',')}]`];
  try {
    const rows = (db as Knex.Transaction).isTransaction
      ? (await rawPg(db, SETTLE_SQL, values)).rows
      : await preparedQuery<{ claimed: string[] }>(db as Knex, 'settle_payments', SETTLE_SQL, values);
    return new Set(rows[0].claimed);
  } catch (e) {
    const err = e as Error & { code?: string };
    err.message = databaseMessage(err);
    if (err.code === SERIALIZATION_FAILURE || err.code === DEADLOCK) throw new ConcurrentChangeError(err.message);
    throw err;
  }
}
