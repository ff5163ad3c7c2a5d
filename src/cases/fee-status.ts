import type { Principal } from '../auth/principal';
import { assertCanSee } from '../auth/principal';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import type { Knex } from 'knex';
import { preparedQuery } from '../db';
import { courtTimeZone, money, presentInvoiceSummary, type SummaryRow } from '../invoices/present';
import { feeTotals } from '../invoices/status';
import { SETTLED_SQL } from '../payments/transitions';
import { NotFoundError } from '../shared/errors';
import { requireCaseNumber } from './cases';

/** The invoice columns a summary shows: not the breakdown or basis documents. */
const SUMMARY_COLUMNS = [
  'i.id', 'i.public_id', 'i.court_code', 'i.fee_kind', 'i.stage', 'i.payer', 'i.schedule_version', 'i.statutory_amount', 'i.amount_due',
  'i.paid_amount', 'i.refunded_amount', 'i.currency', 'i.status', 'i.notice_date', 'i.due_date', 'i.payment_token', 'i.cancelled_at',
  'i.cancel_reason', 'i.created_at',
];

// A named prepared statement: parsed and planned once per connection; one index lookup per table.
const STATUS_SQL = `select ${SUMMARY_COLUMNS.join(', ')}, c.case_number as c_case_number, c.court_code as c_court_code, c.status as c_status,
    (select json_agg(json_build_object('id', p.public_id, 'amount', p.settled_amount, 'status', p.status, 'settledAt', p.settled_at) order by p.id)
       from payments p where p.invoice_id = i.id and p.status in ${SETTLED_SQL}) as settled_payments
  from cases c left join invoices i on i.case_id = c.id where c.case_number = $1 order by i.id`;

type Row = Partial<SummaryRow> & { c_case_number: string; c_court_code: string; c_status: string; settled_payments: unknown[] | null };

/**
 * A case's fee status in one indexed query: the case row joined to its invoices. Totals come from
 * the paid/refunded columns kept current with each money movement, not from re-summing history.
 */
export async function caseFeeStatus(db: Knex, config: Readonly<Config>, principal: Principal, rawNumber: string) {
  const number = requireCaseNumber(rawNumber);
  const rows = await preparedQuery<Row>(db, 'case_fee_status', STATUS_SQL, [number.canonical]);
  if (!rows.length) throw new NotFoundError(`case ${number.canonical}`);
  const kase = rows[0];
  assertCanSee(principal, kase.c_court_code, `case ${number.canonical}`);
  const today = courtToday(courtTimeZone(config, kase.c_court_code));
  const invoiceRows = rows.filter((r) => r.id != null) as (SummaryRow & Row)[];
  const invoices = invoiceRows.map((r) => ({ ...presentInvoiceSummary(config, r, kase.c_case_number, today), payments: r.settled_payments ?? [] }));
  const live = invoices.filter((i) => i.status !== 'cancelled');
  const totals = feeTotals(invoiceRows.map(money));
  return {
    caseNumber: kase.c_case_number,
    courtCode: kase.c_court_code,
    caseStatus: kase.c_status,
    totals,
    currency: 'CNY',
    status: overallStatus(live, totals),
    overdue: live.some((i) => i.overdue),
    invoices,
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * The case's fee position in one word, in the invoices' own words: no_fees, unpaid, partially_paid,
 * paid; once money went back, refunded (every settled fen of the live invoices refunded) or
 * partially_refunded — as deriveStatus says of one invoice (invoices/status.ts).
 */
function overallStatus(live: { refundedAmount: number; paidAmount: number }[], t: { due: number; paid: number; outstanding: number }): string {
  if (live.length === 0) return 'no_fees';
  const refunded = sum(live.map((i) => i.refundedAmount));
  if (refunded > 0) return refunded >= sum(live.map((i) => i.paidAmount)) ? 'refunded' : 'partially_refunded';
  if (t.outstanding === 0) return 'paid';
  return t.paid > 0 ? 'partially_paid' : 'unpaid';
}
