import type { Knex } from 'knex';
import type { Queryable } from '../db';
import { paymentIdByRef } from '../payments/payment-store';
import { SETTLED_SQL } from '../payments/transitions';
import { openRefundSql } from '../refunds/overdue';
import { paymentLineNotElsewhere, refundLineNotElsewhere } from './other-days';
import type { CourtDay } from './court-day';
import type { PayoutHeader } from './processor-lines';
import type { StageTables } from './stage';

/**
 * The matching, as SQL over the staged lines: one join over the day builds the court's lines that
 * need looking at (the agreeing ones are only counted), then one statement per discrepancy kind
 * writes its items from that small table. Nothing here loops over lines, and only the join and one
 * count read all of them.
 */
const SETTLED = SETTLED_SQL;

/**
 * The court's lines of the day that need looking at, each with the payment or refund it belongs to,
 * in one scratch table. One hash join pairs the lines with the payments the court settled that day
 * (by our own id, which every checkout carries as metadata). A pair that agrees — a charge of this
 * court (by its metadata) for the amount and currency of a payment we hold settled, not healed by
 * this run — is plain: it yields no discrepancy and is only counted, never written. Everything else
 * is written: a payment left alone is missing at the processor (a row with no line); the few lines
 * left — another day's payment, one we hold unsettled, a refund, a disagreement — are then matched
 * by our id, the PaymentIntent, charge or refund id. Another court's line (its metadata says so and
 * it is not one of ours), and a line no court can claim, are left out of the court's run: the
 * account-level run (account-run.ts) counts every line and reports the unclaimed ones.
 *
 * The plain lines' totals come from one aggregate over the staged lines (run alongside the join)
 * less the written lines' share; `lineTotals` adds what is in the table at the end.
 */
export async function buildMatched(knex: Knex, t: StageTables, day: CourtDay, healSource: string): Promise<LineTotals> {
  await knex.raw(`drop table if exists ${t.matched}`);
  const ownMeta = `coalesce(nullif(s.meta_court_code, ''), nullif(s.meta_refund_court_code, ''), ?) = ?`;
  const [, all] = await Promise.all([
    knex.transaction(async (tx) => {
      // The day's payments are hashed in memory (a nightly job; the server's memory, not this process's).
      // JIT compilation costs more than it saves on a join that runs once.
      await tx.raw(`set local work_mem = '256MB'; set local jit = off`);
      await tx.raw(
        `create unlogged table ${t.matched} as
         select s.bt_id, s.created_utc, s.category, lower(s.currency) as currency, round(s.gross * 100)::bigint as gross, round(s.fee * 100)::bigint as fee,
           round(s.net * 100)::bigint as net, s.source_id, nullif(s.payment_intent_id, '') as payment_intent_id, coalesce(nullif(s.charge_id, ''), s.source_id) as charge_id,
           nullif(s.meta_payment_id, '') as meta_payment_id, nullif(s.meta_refund_id, '') as meta_refund_id,
           p.id as payment_id, p.amount as p_amount, lower(p.currency) as p_currency, p.status as p_status, p.invoice_id as p_invoice_id,
           null::bigint as refund_id, null::bigint as r_amount, null::text as r_currency, null::text as r_status, null::bigint as r_invoice_id,
           coalesce(p.court_code, nullif(s.meta_court_code, ''), nullif(s.meta_refund_court_code, '')) as court_code,
           ${ownMeta} as own_meta
         from ${t.lines} s
         full join (select id, public_id, amount, currency, status, invoice_id, court_code from payments
                    where court_code = ? and settled_at >= ? and settled_at < ? and status in ${SETTLED}) p
           on s.category = 'charge' and p.public_id = s.meta_payment_id
         where (p.id is not null or ${ownMeta})
           -- plain: written as cheap comparisons that imply the exact ones (a line they miss is written and judged exactly)
           and not coalesce(p.id is not null and s.meta_court_code = ? and s.currency = 'cny' and p.currency = 'CNY' and s.gross * 100 = p.amount
                            and p.id not in (select payment_id from ledger_transactions where source = ? and kind = 'payment_settled'), false)`,
        [day.courtCode, day.courtCode, day.courtCode, day.start, day.end, day.courtCode, day.courtCode, day.courtCode, healSource],
      );
    }),
    // Every line of this court (by its metadata), counted in one pass over the stage.
    knex.raw(
      `select ${TOTALS} from (select bt_id, category, round(gross * 100)::bigint as gross, round(fee * 100)::bigint as fee, round(net * 100)::bigint as net
                            from ${t.lines} s where ${ownMeta}) l`,
      [day.courtCode, day.courtCode],
    ),
  ]);
  // The written lines' share of that (before the lookups below move or drop any): the rest is plain.
  const written = await knex.raw(`select ${TOTALS} from ${t.matched} where own_meta`);
  const plain = minus(totalsOf(all.rows[0]), totalsOf(written.rows[0]));
  plain.recorded = plain.grossCollected; // a plain line is a charge for exactly what we recorded settled
  // The lines still unmatched (few) are looked up by our id, then the processor's ids.
  await knex.raw(
    `update ${t.matched} m set payment_id = p.id, p_amount = p.amount, p_currency = lower(p.currency), p_status = p.status, p_invoice_id = p.invoice_id,
       refund_id = r.id, r_amount = r.amount, r_currency = lower(r.currency), r_status = r.status, r_invoice_id = r.invoice_id,
       court_code = coalesce(p.court_code, r.court_code, m.court_code)
     from (select u.ctid as rid,
             case when u.category = 'charge' then ${paymentIdByRef(['u.meta_payment_id', 'null', 'u.payment_intent_id', 'u.charge_id'])} end as pay_id,
             case when u.category = 'refund' then coalesce(
               (select x.id from refunds x where x.public_id = u.meta_refund_id),
               (select x.id from refunds x where x.processor_refund_id = u.source_id)) end as ref_id
           from ${t.matched} u where u.payment_id is null and u.category in ('charge', 'refund')) f
     left join payments p on p.id = f.pay_id left join refunds r on r.id = f.ref_id
     where m.ctid = f.rid and (p.id is not null or r.id is not null)`,
  );
  await knex.raw(`delete from ${t.matched} where court_code is distinct from ?`, [day.courtCode]);
  return plain;
}

export interface HealCandidate {
  bt_id: string;
  category: 'charge' | 'refund';
  currency: string;
  gross: number;
  source_id: string | null;
  payment_intent_id: string | null;
  payment_id: number | null;
  refund_id: number | null;
}

/** Lines the processor settled that we hold as not settled, a page at a time (there are few). */
export async function healCandidates(knex: Knex, t: StageTables, after: string, limit: number): Promise<HealCandidate[]> {
  const { rows } = await knex.raw(
    `select bt_id, category, currency, gross, source_id, payment_intent_id, payment_id, refund_id from ${t.matched}
     where bt_id > ? and ((category = 'charge' and payment_id is not null and p_status not in ${SETTLED})
        or (category = 'refund' and refund_id is not null and r_status <> 'succeeded'))
     order by bt_id limit ?`,
    [after, limit],
  );
  return rows;
}

export interface KindContext {
  runId: number;
  day: CourtDay;
  healSource: string;
  now: Date;
  graceDays: number;
  payouts: PayoutHeader[];
  caseRecords: CaseRecord[] | null;
}

export interface CaseRecord {
  caseNumber?: string;
  invoiceId: string;
  status: string;
  paidAmount: number;
  refundedAmount?: number;
}

/** Every kind's select yields these columns; the insert adds ids, the court and the case number. */
const COLS = `kind, item_key, status, grade, bt, obj, pi, payout, payment_id, refund_id, invoice_id, case_number, expected, actual, currency, detail`;
const INSERT = `insert into reconciliation_items (public_id, run_id, court_code, kind, item_key, status, grade, balance_transaction_id, processor_object_id,
    payment_intent_id, payout_id, payment_id, refund_id, invoice_id, case_number, expected_amount, actual_amount, currency, detail)
  select 'reci_' || substr(md5(random()::text || clock_timestamp()::text || f.item_key), 1, 24), ?, ?, f.kind, f.item_key, f.status, f.grade, f.bt, f.obj,
    f.pi, f.payout, f.payment_id, f.refund_id, f.invoice_id, coalesce(c.case_number, f.case_number), f.expected, f.actual, f.currency, f.detail
  from (%SELECT%) as f(${COLS}) left join invoices i on i.id = f.invoice_id left join cases c on c.id = i.case_id
  on conflict (run_id, kind, item_key) do nothing`;


type KindQuery = (t: StageTables, k: KindContext) => { sql: string; bindings: Knex.RawBinding[] } | null;

const healed = (t: StageTables) => `(
  (m.category = 'charge' and m.payment_id in (select payment_id from ledger_transactions where source = ? and kind = 'payment_settled'))
  or (m.category = 'refund' and m.refund_id in (select refund_id from ledger_transactions where source = ? and kind = 'refund_settled' and refund_id is not null)))`;

const KINDS: Record<string, KindQuery> = {
  missing_in_ledger: (t, k) => ({
    sql: `select 'missing_in_ledger' as kind, bt_id as item_key, case when healed then 'healed' else 'open' end as status, null as grade, bt_id as bt,
            source_id as obj, payment_intent_id as pi, null as payout, payment_id, refund_id, coalesce(p_invoice_id, r_invoice_id) as invoice_id,
            null as case_number, case when category = 'refund' then r_amount else p_amount end as expected,
            case when category = 'refund' then -gross else gross end as actual, currency,
            case when healed then 'healed: the run settled it through the webhook code path'
                 when payment_id is null and refund_id is null then 'the processor settled it; we have no matching ' || case when category = 'refund' then 'refund' else 'payment' end
                 else 'the processor settled it; we hold it as ' || coalesce(p_status, r_status) end as detail
          from (select m.*, ${healed(t)} as healed from ${t.matched} m where m.category in ('charge', 'refund')) m
          where healed or (category = 'charge' and (payment_id is null or p_status not in ${SETTLED}))
                or (category = 'refund' and (refund_id is null or r_status <> 'succeeded'))`,
    bindings: [k.healSource, k.healSource],
  }),
  currency_mismatch: (t) => ({
    sql: `select 'currency_mismatch', bt_id, 'open', null, bt_id, source_id, payment_intent_id, null, payment_id, refund_id, coalesce(p_invoice_id, r_invoice_id), null,
            case when category = 'refund' then r_amount else p_amount end, case when category = 'refund' then -gross else gross end, currency,
            'the processor settled it in ' || upper(currency) || ', we recorded ' || upper(coalesce(p_currency, r_currency))
          from ${t.matched}
          where (category = 'charge' and p_status in ${SETTLED} and currency <> p_currency) or (category = 'refund' and r_status = 'succeeded' and currency <> r_currency)`,
    bindings: [],
  }),
  amount_mismatch: (t) => ({
    sql: `select 'amount_mismatch', bt_id, 'open', null, bt_id, source_id, payment_intent_id, null, payment_id, refund_id, coalesce(p_invoice_id, r_invoice_id), null,
            case when category = 'refund' then r_amount else p_amount end, case when category = 'refund' then -gross else gross end, currency,
            'the processor settled a different amount than we recorded'
          from ${t.matched}
          where (category = 'charge' and p_status in ${SETTLED} and currency = p_currency and gross <> p_amount)
             or (category = 'refund' and r_status = 'succeeded' and currency = r_currency and -gross <> r_amount)`,
    bindings: [],
  }),
  missing_at_processor: (t, k) => ({
    sql: `select 'missing_at_processor', 'payment:' || p.public_id, 'open', case when ?::timestamptz < p.settled_at + make_interval(days => ?) then 'late' else 'missing' end,
            null, p.charge_id, p.payment_intent_id, null, p.id, null::bigint, p.invoice_id, null, p.settled_amount, null::bigint, lower(p.currency),
            'we recorded the payment settled; the processor has no line for it this day'
          from ${t.matched} m join payments p on p.id = m.payment_id
          where m.bt_id is null and ${paymentLineNotElsewhere('p')}
            -- its line came without our metadata and was found by the PaymentIntent or charge id
            and not exists (select 1 from ${t.matched} l where l.payment_id = p.id and l.bt_id is not null and l.category = 'charge')
          union all
          select 'missing_at_processor', 'refund:' || r.public_id, 'open', case when ?::timestamptz < r.succeeded_at + make_interval(days => ?) then 'late' else 'missing' end,
            null, r.processor_refund_id, null, null, r.payment_id, r.id, r.invoice_id, null, r.amount, null::bigint, lower(r.currency),
            'we recorded the refund succeeded; the processor has no line for it this day'
          from refunds r
          where r.court_code = ? and r.succeeded_at >= ? and r.succeeded_at < ? and r.status = 'succeeded'
            and not exists (select 1 from ${t.matched} m where m.refund_id = r.id) and ${refundLineNotElsewhere('r')}`,
    bindings: [k.now, k.graceDays, k.runId, k.now, k.graceDays, k.day.courtCode, k.day.start, k.day.end, k.runId],
  }),
  duplicate_payment: (_t, k) => ({
    sql: `select 'duplicate_payment', 'invoice:' || i.public_id, 'open', null, null, null, null, null, null::bigint, null::bigint, i.id, null,
            i.amount_due, i.paid_amount - i.refunded_amount - u.amount, 'cny',
            n.settled || ' settled payment(s), ' || (i.paid_amount - i.refunded_amount - u.amount) || ' fen held' ||
              case when u.amount > 0 then ' beyond the ' || u.amount || ' fen of refunds under way' else '' end || ' against ' || i.amount_due || ' due: a refund is owed'
          -- an invoice the day's money left holding more than is due (a second checkout on a paid invoice does exactly that),
          -- beyond what refunds already under way will return (a statutory refund after an outcome lowered the fee, say)
          from invoices i
          cross join lateral (select count(*) as settled from payments x where x.invoice_id = i.id and x.status in ${SETTLED} and x.settled_amount > x.refunded_amount) n
          cross join lateral (select coalesce(sum(r.amount), 0) as amount from payments x join refunds r on r.payment_id = x.id
                              where x.invoice_id = i.id and ${openRefundSql('r')}) u
          where i.court_code = ? and i.paid_amount - i.refunded_amount > i.amount_due and i.paid_amount - i.refunded_amount - u.amount > i.amount_due
            and exists (select 1 from payments x where x.invoice_id = i.id and x.settled_at >= ? and x.settled_at < ? and x.status in ${SETTLED})`,
    bindings: [k.day.courtCode, k.day.start, k.day.end],
  }),
  payout_mismatch: (t, k) =>
    k.payouts.length
      ? {
          sql: `select 'payout_mismatch', 'payout:' || h.id, 'open', null, null, h.id, null, h.id, null::bigint, null::bigint, null::bigint, null,
                  h.amount, coalesce(b.net, 0), lower(h.currency), 'the payout differs from the sum of its ' || coalesce(b.n, 0) || ' balance transactions'
                from ${PAYOUT_SUMS(t)} where coalesce(b.net, 0) <> h.amount and coalesce(b.mine, false)`,
          bindings: [JSON.stringify(k.payouts), k.day.courtCode, k.day.courtCode, k.day.courtCode],
        }
      : null,
  paid_after_case_closed: (_t, k) => ({
    sql: `select 'paid_after_case_closed', 'payment:' || p.public_id, 'open', null, null, p.charge_id, p.payment_intent_id, null, p.id, null::bigint, p.invoice_id, null,
            0::bigint, p.settled_amount - p.refunded_amount, lower(p.currency),
            'settled after the case was ' || c.status || coalesce(' on ' || c.outcome_date::text, '') || ': a refund is owed'
          from payments p join invoices i on i.id = p.invoice_id join cases c on c.id = i.case_id
          where p.court_code = ? and p.settled_at >= ? and p.settled_at < ? and p.status in ${SETTLED} and p.settled_amount > p.refunded_amount
            and c.status in ('withdrawn', 'dismissed', 'transferred') and (c.outcome_date is null or c.outcome_date <= ?::date)
            -- a withdrawn case still owes half its fee (the outcome lowered the invoice to it): paying that is no finding, paying beyond it is
            and (c.status <> 'withdrawn' or i.paid_amount - i.refunded_amount > i.amount_due)`,
    bindings: [k.day.courtCode, k.day.start, k.day.end, k.day.date],
  }),
  refund_overdue: (_t, k) => ({
    sql: `select 'refund_overdue', 'refund:' || r.public_id, 'open', null, null, r.processor_refund_id, null, null, r.payment_id, r.id, r.invoice_id, null,
            r.amount, 0::bigint, lower(r.currency), 'statutory refund due ' || r.due_date::text || ', still ' || r.status
          -- due on the day just ended and still open: overdue from today, by the one definition (refunds/overdue.ts)
          from refunds r where r.court_code = ? and r.due_date = ?::date and ${openRefundSql('r')}`,
    bindings: [k.day.courtCode, k.day.date],
  }),
  unpaid_overdue: (_t, k) => ({
    sql: `select 'unpaid_overdue', 'invoice:' || i.public_id, 'open', null, null, null, null, null, null::bigint, null::bigint, i.id, null,
            i.amount_due, i.paid_amount, 'cny',
            'due ' || i.due_date::text || ' and unpaid while the case is open: the case system must treat the claim as withdrawn'
          from invoices i join cases c on c.id = i.case_id
          where i.court_code = ? and i.due_date = ?::date and i.status in ('unpaid', 'partially_paid') and c.status = 'open'`,
    bindings: [k.day.courtCode, k.day.date],
  }),
  case_record_mismatch: (_t, k) =>
    k.caseRecords
      ? {
          sql: `with r as (select * from jsonb_to_recordset(?::jsonb) as r("caseNumber" text, "invoiceId" text, status text, "paidAmount" bigint, "refundedAmount" bigint))
                select 'case_record_mismatch', 'invoice:' || r."invoiceId", 'open', null, null, null, null, null, null::bigint, null::bigint, i.id, r."caseNumber",
                  i.paid_amount - i.refunded_amount, r."paidAmount" - coalesce(r."refundedAmount", 0), 'cny',
                  case when i.id is null then 'the case system holds a fee record we do not have'
                       else 'the case system holds ' || r.status || ' (' || r."paidAmount" || ' paid, ' || coalesce(r."refundedAmount", 0) || ' refunded); we hold '
                            || i.status || ' (' || i.paid_amount || ' paid, ' || i.refunded_amount || ' refunded)' end
                from r left join invoices i on i.public_id = r."invoiceId" and i.court_code = ?
                where i.id is null or i.status <> r.status or i.paid_amount <> r."paidAmount" or i.refunded_amount <> coalesce(r."refundedAmount", 0)
                union all
                select 'case_record_mismatch', 'invoice:' || i.public_id, 'open', null, null, null, null, null, null::bigint, null::bigint, i.id, null,
                  i.paid_amount - i.refunded_amount, null::bigint, 'cny', 'money settled today; the case system holds no fee record for it'
                from invoices i
                where i.id in (select invoice_id from payments where court_code = ? and settled_at >= ? and settled_at < ? and status in ${SETTLED})
                  and i.public_id not in (select "invoiceId" from r where "invoiceId" is not null)`,
          bindings: [JSON.stringify(k.caseRecords), k.day.courtCode, k.day.courtCode, k.day.start, k.day.end],
        }
      : null,
};

export const KIND_NAMES = Object.keys(KINDS);

/** The day's payouts with the sum of their balance transactions (a payout's own line excluded), and whether any is this court's. */
const PAYOUT_SUMS = (t: StageTables) => `(select * from jsonb_to_recordset(?::jsonb) as h(id text, amount bigint, currency text, status text, "arrivalDate" bigint)) h
  left join (select payout_id, sum(round(net * 100))::bigint as net, count(*) as n,
                    bool_or(coalesce(nullif(meta_court_code, ''), nullif(meta_refund_court_code, ''),
                                     (select x.court_code from payments x where x.public_id = po.meta_payment_id),
                                     (select x.court_code from payments x where x.payment_intent_id = po.payment_intent_id),
                                     (select x.court_code from refunds x where x.processor_refund_id = po.source_id)) = ?) as mine,
                    sum(round(net * 100)) filter (where coalesce(nullif(meta_court_code, ''), nullif(meta_refund_court_code, '')) = ?
                      or exists (select 1 from payments x where x.payment_intent_id = po.payment_intent_id and x.court_code = ?))::bigint as court_net
             from ${t.payouts} po where coalesce(category, '') <> 'payout' group by payout_id) b on b.payout_id = h.id`;

/** One statement per kind, in the caller's transaction. */
export async function writeItems(tx: Knex.Transaction, t: StageTables, k: KindContext): Promise<void> {
  await tx.raw(`set local jit = off`);
  for (const kind of KIND_NAMES) {
    const q = KINDS[kind](t, k);
    if (!q) continue;
    await tx.raw(INSERT.replace('%SELECT%', q.sql), [k.runId, k.day.courtCode, ...q.bindings]);
  }
}

export interface LineTotals {
  lines: number;
  grossCollected: number;
  refunded: number;
  processorFees: number;
  net: number;
  /** What our records settled for the same lines (payments settled, refunds succeeded), before this run's heals. */
  recorded: number;
}

const TOTALS = `count(bt_id)::bigint as lines,
       coalesce(sum(gross) filter (where category = 'charge'), 0)::bigint as gross_collected,
       coalesce(-sum(gross) filter (where category = 'refund'), 0)::bigint as refunded,
       coalesce(sum(fee), 0)::bigint as fees, coalesce(sum(net), 0)::bigint as net`;

const totalsOf = (r: Record<string, string | number>) => ({
  lines: BigInt(r.lines), grossCollected: BigInt(r.gross_collected), refunded: BigInt(r.refunded), processorFees: BigInt(r.fees), net: BigInt(r.net), recorded: BigInt(r.recorded ?? 0),
});

function minus(a: ReturnType<typeof totalsOf>, b: ReturnType<typeof totalsOf>): LineTotals {
  return {
    lines: Number(a.lines - b.lines), grossCollected: Number(a.grossCollected - b.grossCollected), refunded: Number(a.refunded - b.refunded),
    processorFees: Number(a.processorFees - b.processorFees), net: Number(a.net - b.net), recorded: Number(a.recorded - b.recorded),
  };
}

/** The court's lines: the plain ones `buildMatched` counted, and those in the matched table. */
export async function lineTotals(db: Queryable, t: StageTables, plain: LineTotals): Promise<LineTotals> {
  const { rows } = await db.raw(
    `select ${TOTALS},
       coalesce(sum(case when category = 'charge' and p_status in ${SETTLED} and currency = p_currency then p_amount
                         when category = 'refund' and r_status = 'succeeded' and currency = r_currency then -r_amount else 0 end), 0)::bigint as recorded
     from ${t.matched}`,
  );
  const r = rows[0];
  return {
    lines: plain.lines + Number(r.lines), grossCollected: plain.grossCollected + Number(r.gross_collected), refunded: plain.refunded + Number(r.refunded),
    processorFees: plain.processorFees + Number(r.fees), net: plain.net + Number(r.net), recorded: plain.recorded + Number(r.recorded),
  };
}

export interface PayoutTotal {
  id: string;
  amount: number;
  currency: string;
  status: string;
  arrivalDate: string;
  transactionsNet: number;
  transactions: number;
  courtNet: number;
  matches: boolean;
}

export async function payoutTotals(db: Queryable, t: StageTables, payouts: PayoutHeader[], courtCode: string): Promise<PayoutTotal[]> {
  if (!payouts.length) return [];
  const { rows } = await db.raw(`select h.*, coalesce(b.net, 0)::bigint as net, coalesce(b.n, 0)::bigint as n, coalesce(b.court_net, 0)::bigint as court_net from ${PAYOUT_SUMS(t)} order by h.id`, [
    JSON.stringify(payouts), courtCode, courtCode, courtCode,
  ]);
  return rows.map((r: Record<string, unknown>) => ({
    id: r.id as string,
    amount: Number(r.amount),
    currency: String(r.currency).toUpperCase(),
    status: r.status as string,
    arrivalDate: new Date(Number(r.arrivalDate) * 1000).toISOString(),
    transactionsNet: Number(r.net),
    transactions: Number(r.n),
    courtNet: Number(r.court_net),
    matches: Number(r.net) === Number(r.amount),
  }));
}
