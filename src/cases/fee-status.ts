import type { Principal } from '../auth/principal';
import { assertCanSee } from '../auth/principal';
import type { Config } from '../config';
import type { Queryable } from '../db';
import { presentInvoice, type InvoiceRow } from '../invoices/present';
import { NotFoundError } from '../shared/errors';
import { requireCaseNumber } from './cases';

type Row = InvoiceRow & { c_case_number: string; c_court_code: string; c_status: string; c_id: number; inv_id: number | null };

/**
 * A case's fee status in one indexed query: the case row joined to its invoices. Totals come from
 * the paid/refunded columns kept current with each money movement, not from re-summing history.
 */
export async function caseFeeStatus(db: Queryable, config: Readonly<Config>, principal: Principal, rawNumber: string) {
  const number = requireCaseNumber(rawNumber);
  const rows: Row[] = await db('cases as c')
    .leftJoin('invoices as i', 'i.case_id', 'c.id')
    .where('c.case_number', number.canonical)
    .orderBy('i.id')
    .select('i.*', 'i.id as inv_id', 'c.id as c_id', 'c.case_number as c_case_number', 'c.court_code as c_court_code', 'c.status as c_status');
  if (!rows.length) throw new NotFoundError(`case ${number.canonical}`);
  const kase = rows[0];
  assertCanSee(principal, kase.c_court_code, `case ${number.canonical}`);
  const now = new Date();
  const invoices = rows.filter((r) => r.inv_id !== null).map((r) => presentInvoice(config, { ...r, id: r.inv_id! }, r.c_case_number, [], now));
  const live = invoices.filter((i) => i.status !== 'cancelled');
  const totals = {
    due: sum(live.map((i) => i.amount)),
    paid: sum(invoices.map((i) => i.paidAmount)),
    refunded: sum(invoices.map((i) => i.refundedAmount)),
    outstanding: sum(live.map((i) => i.outstanding)),
  };
  return {
    caseNumber: kase.c_case_number,
    courtCode: kase.c_court_code,
    caseStatus: kase.c_status,
    totals,
    currency: 'CNY',
    status: overallStatus(live.length, totals),
    overdue: live.some((i) => i.overdue),
    invoices: invoices.map(({ breakdown: _b, basis: _c, remissions: _r, ...summary }) => summary),
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The case's fee position in one word: no_fees, unpaid, partially_paid or paid. */
function overallStatus(liveInvoices: number, t: { due: number; paid: number; outstanding: number }): string {
  if (liveInvoices === 0) return 'no_fees';
  if (t.outstanding === 0) return 'paid';
  return t.paid > 0 ? 'partially_paid' : 'unpaid';
}
