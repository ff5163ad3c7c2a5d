import type { Knex } from 'knex';
import type { AuditRow } from '../audit/record';
import type { CallbackMessageRow } from '../callbacks/emit';
import { preparedQuery, type Queryable } from '../db';
import type { InvoiceRow } from '../invoices/present';
import type { postingRow } from '../ledger/ledger';
import { rawPg, type PaymentRow, type PaymentState } from './payment-store';

/** The processor event this statement records in the inbox (its payload is passed beside it), with the outcome of applying it. */
export interface InboxClaim {
  event_id: string;
  type: string;
  object_id: string | null;
  livemode: boolean;
  status: 'processed' | 'ignored' | 'flagged';
  note: string | null;
}

/** What one observation changes, decided in TypeScript (planObservation) and written here in one statement. */
export interface SettlementWrite {
  /** The payment's changed columns; null: nothing to change, but the payment must still be as read. */
  payment: Partial<PaymentRow> | null;
  /** The invoice's money columns after the change; null: unchanged. */
  invoice: Pick<InvoiceRow, 'paid_amount' | 'refunded_amount' | 'status' | 'updated_at'> | null;
  posting: ReturnType<typeof postingRow>;
  audit: (Omit<AuditRow, 'before' | 'after'> & { before: unknown; after: unknown }) | null;
  callbacks: CallbackMessageRow[];
}

export class ConcurrentChangeError extends Error {}

/**
 * The whole change in one statement, so it is atomic without BEGIN/COMMIT round trips: the inbox
 * claim (when given), the invoice and payment updates as compare-and-set on the versions read
 * (invoice first, the order the locking path takes), the ledger transaction and its lines, the audit
 * row and the callback outbox rows. Everything hangs off the claim: a duplicate event changes
 * nothing. If either row changed since it was read, courtpay_require aborts the statement (40001),
 * the claim with it. Parameters are jsonb so the text never varies and can be prepared.
 */
const SETTLE_SQL = `with
claim as (
  insert into processor_events as e (event_id, type, object_id, livemode, payload, status, note, processed_at)
  select c.event_id, c.type, c.object_id, c.livemode, $11::jsonb, c.status, c.note, now()
    from jsonb_to_record($1::jsonb) as c(event_id text, type text, object_id text, livemode boolean, status text, note text)
   where $1::jsonb is not null
  on conflict (event_id) do update set attempts = e.attempts + 1, payload = excluded.payload, status = excluded.status, note = excluded.note,
    last_error = null, processed_at = now()
   where e.status = 'failed'
  returning e.id
),
go as (select 1 as one where $1::jsonb is null union all select 1 from claim),
inv as (
  update invoices i set (paid_amount, refunded_amount, status, updated_at)
    = (select r.paid_amount, r.refunded_amount, r.status, r.updated_at from jsonb_populate_record(i, $6::jsonb) r)
  from go where i.id = $4 and i.xmin = $5::text::xid and $6::jsonb is not null
  returning i.id
),
go_pay as (select one from go where $6::jsonb is null union all select 1 from inv),
pay as (
  update payments p set (status, settled_amount, settled_at, failure_reason, checkout_session_id, payment_intent_id, charge_id,
      payment_method_type, flagged_at, flag_reason, updated_at)
    = (select r.status, r.settled_amount, r.settled_at, r.failure_reason, r.checkout_session_id, r.payment_intent_id, r.charge_id,
      r.payment_method_type, r.flagged_at, r.flag_reason, r.updated_at from jsonb_populate_record(p, $3::jsonb) r)
  from go_pay where p.id = $2 and p.xmin = $7::text::xid and $3::jsonb is not null
  returning p.id
),
held as (select p.id from payments p, go where p.id = $2 and p.xmin = $7::text::xid and $3::jsonb is null for update of p),
lt as (
  insert into ledger_transactions (kind, court_code, invoice_id, payment_id, source, description)
  select t.kind, t.court_code, t.invoice_id, t.payment_id, t.source, t.description
    from pay, jsonb_to_record($8::jsonb) as t(kind text, court_code text, invoice_id bigint, payment_id bigint, source text, description text)
   where $8::jsonb is not null
  returning id
),
le as (
  insert into ledger_entries (transaction_id, account, court_code, invoice_id, amount)
  select lt.id, l.account, $8::jsonb ->> 'court_code', ($8::jsonb ->> 'invoice_id')::bigint, l.amount
    from lt, jsonb_to_recordset($8::jsonb -> 'lines') as l(account text, amount bigint)
),
aud as (
  insert into audit_events (actor_type, actor_id, action, entity_type, entity_id, request_id, before, after)
  select a.actor_type, a.actor_id, a.action, a.entity_type, a.entity_id, a.request_id, a.before, a.after
    from pay, jsonb_to_record($9::jsonb) as a(actor_type text, actor_id text, action text, entity_type text, entity_id text, request_id text, before jsonb, after jsonb)
   where $9::jsonb is not null
),
cb as (
  insert into callback_messages (public_id, endpoint_id, invoice_id, type, payload, created_at)
  select m.public_id, m.endpoint_id, m.invoice_id, m.type, m.payload, m.created_at
    from pay, jsonb_to_recordset($10::jsonb) as m(public_id text, endpoint_id bigint, invoice_id bigint, type text, payload text, created_at timestamptz)
)
select (select count(*) from claim)::int as claimed,
  courtpay_require(
    ($1::jsonb is not null and not exists (select 1 from claim))
      or ($2::bigint is null)
      or ((select count(*) from pay) + (select count(*) from held) = 1 and (select count(*) from inv) = (case when $6::jsonb is null then 0 else 1 end)),
    'the payment or its invoice changed while the change was being applied') as ok`;

const SERIALIZATION_FAILURE = '40001';

/**
 * Writes a settlement: in the caller's transaction (rows already locked, so the compare-and-set
 * holds), or — with `db` the plain knex and a claim — as one autocommitted prepared statement.
 * Returns whether the claim was taken (false: the event was already recorded; nothing changed).
 * Throws ConcurrentChangeError when the rows moved since `state` was read.
 */
export async function writeSettlement(db: Queryable, state: PaymentState | undefined, w: SettlementWrite | null, claim?: { row: InboxClaim; payload: string }): Promise<boolean> {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  const values = [
    json(claim?.row),
    state?.payment.id ?? null,
    json(w?.payment),
    state?.invoice.id ?? null,
    state?.versions.invoice ?? null,
    json(w?.invoice),
    state?.versions.payment ?? null,
    json(w?.posting),
    json(w?.audit),
    JSON.stringify(w?.callbacks ?? []),
    claim?.payload ?? null,
  ];
  try {
    const rows = (db as Knex.Transaction).isTransaction
      ? (await rawPg(db, SETTLE_SQL, values)).rows
      : await preparedQuery<{ claimed: number }>(db as Knex, 'settle_payment', SETTLE_SQL, values);
    return claim ? rows[0].claimed === 1 : true;
  } catch (e) {
    if ((e as { code?: string }).code === SERIALIZATION_FAILURE) throw new ConcurrentChangeError((e as Error).message);
    throw e;
  }
}
