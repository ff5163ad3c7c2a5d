import type { Knex } from 'knex';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import { emitCallback } from './emit';
import { callbackData } from './payload';

/**
 * invoice.overdue, once per invoice: money still owed after the due date (a court day in the
 * court's zone — the 7-day deadline after which the law treats the claim as withdrawn). The notice
 * row's primary key is what makes a rerun, or two instances running at once, emit nothing twice.
 */
const MARK_SQL = `
  insert into callback_overdue_notices (invoice_id, court_day)
  select i.id, ?::date from invoices i
   where i.court_code = ? and i.status in ('unpaid', 'partially_paid') and i.amount_due > i.paid_amount and i.due_date < ?::date
     and not exists (select 1 from callback_overdue_notices n where n.invoice_id = i.id)
   order by i.id
  on conflict (invoice_id) do nothing
  returning invoice_id`;

export async function emitOverdue(knex: Knex, config: Readonly<Config>, courtCode: string, now = new Date()): Promise<number> {
  const court = config.courts.find((c) => c.code === courtCode);
  if (!court) throw new Error(`unknown court ${courtCode}`);
  const today = courtToday(court.timeZone, now);
  const present = callbackData(config);
  return knex.transaction(async (tx) => {
    const { rows } = (await tx.raw(MARK_SQL, [today, courtCode, today])) as { rows: { invoice_id: number }[] };
    for (const r of rows) await emitCallback(tx, { type: 'invoice.overdue', invoiceId: r.invoice_id }, present);
    return rows.length;
  });
}
