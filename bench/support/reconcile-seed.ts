import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import { to as copyTo, from as copyFrom } from 'pg-copy-streams';

/**
 * Set-based seeding for the reconciliation bench: cases, one invoice and one settled Stripe payment
 * per row (generate_series), the payments settled inside a given court-day. Ledger rows are not
 * seeded (the run reads payments, not history).
 */
export async function seedSettledPayments(knex: Knex, o: { courtCode: string; designation: string; from: number; count: number; settledAt: string }): Promise<void> {
  const to = o.from + o.count - 1;
  await knex.transaction(async (tx) => {
    await tx.raw(`set local synchronous_commit = off`);
    await tx.raw(
      `insert into cases (case_number, court_code, year, designation, type_designation, sequence, case_type, procedure, status)
       select format('(2025)%s民初%s号', ?::text, g), ?, 2025, ?, '民初', g, 'civil', 'ordinary', 'open' from generate_series(?::int, ?::int) g`,
      [o.designation, o.courtCode, o.designation, o.from, to],
    );
    await tx.raw(
      `insert into invoices (public_id, case_id, court_code, fee_kind, payer, statutory_amount, amount_due, paid_amount, status, notice_date, due_date, payment_token)
       select 'inv_b' || lpad(c.sequence::text, 12, '0'), c.id, c.court_code, 'acceptance_property', '{"name":"张三","role":"plaintiff"}'::jsonb,
              1000 + (c.sequence % 5000) * 10, 1000 + (c.sequence % 5000) * 10, 1000 + (c.sequence % 5000) * 10, 'paid', '2025-02-20', '2025-02-27', 'tok_b' || c.sequence
       from cases c where c.court_code = ? and c.sequence between ? and ?`,
      [o.courtCode, o.from, to],
    );
    await tx.raw(
      `insert into payments (public_id, invoice_id, court_code, amount, status, processor, checkout_session_id, payment_intent_id, charge_id, expires_at, settled_amount, settled_at)
       select 'pay_b' || lpad(substr(i.public_id, 6), 12, '0'), i.id, i.court_code, i.amount_due, 'succeeded', 'stripe', 'cs_b' || i.id, 'pi_b' || i.id, 'ch_b' || i.id,
              ?::timestamptz, i.amount_due, ?::timestamptz + make_interval(secs => (i.id % 80000))
       from invoices i where i.court_code = ? and i.public_id between ? and ?`,
      [o.settledAt, o.settledAt, o.courtCode, `inv_b${String(o.from).padStart(12, '0')}`, `inv_b${String(to).padStart(12, '0')}`],
    );
  });
  await knex.raw('analyze cases, invoices, payments');
}

/** Stripe's balance_change_from_activity.itemized.3 CSV for those payments: header as Stripe names the columns, amounts in decimal yuan. */
export const REPORT_HEADER_SQL = `bt_id as balance_transaction_id, created_utc, currency, gross, fee, net, category as reporting_category, source_id, charge_id, payment_intent_id,
  meta_payment_id as "payment_metadata[payment_id]", meta_court_code as "payment_metadata[court_code]", null::text as "refund_metadata[refund_id]", null::text as "refund_metadata[court_code]"`;

/**
 * `foreign` more lines are charges no court of ours made (a charge by hand in the processor's
 * dashboard, another system on the account): no metadata, ids that match no payment of ours.
 */
export async function writeReportFile(knex: Knex, file: string, o: { courtCode: string; from: number; count: number; createdAt: string; foreign?: number }): Promise<void> {
  const to = o.from + o.count - 1;
  const conn = await knex.client.acquireConnection();
  try {
    const sql = `copy (select ${REPORT_HEADER_SQL} from (
        select 'txn_b' || p.id as bt_id, to_char(?::timestamptz at time zone 'UTC' + make_interval(secs => p.id % 80000), 'YYYY-MM-DD HH24:MI:SS') as created_utc,
               'cny' as currency, to_char(p.amount / 100.0, 'FM999999990.00') as gross, to_char(round(p.amount * 0.006) / 100.0, 'FM999999990.00') as fee,
               to_char((p.amount - round(p.amount * 0.006)) / 100.0, 'FM999999990.00') as net, 'charge' as category, p.charge_id as source_id, p.charge_id,
               p.payment_intent_id, p.public_id as meta_payment_id, p.court_code as meta_court_code
        from payments p join invoices i on i.id = p.invoice_id
        where i.court_code = '${o.courtCode}' and i.public_id between 'inv_b${String(o.from).padStart(12, '0')}' and 'inv_b${String(to).padStart(12, '0')}'
        union all
        select 'txn_f' || g, to_char(?::timestamptz at time zone 'UTC' + make_interval(secs => g % 80000), 'YYYY-MM-DD HH24:MI:SS'), 'cny',
               to_char((1000 + g % 5000 * 10) / 100.0, 'FM999999990.00'), to_char(round((1000 + g % 5000 * 10) * 0.006) / 100.0, 'FM999999990.00'),
               to_char((1000 + g % 5000 * 10 - round((1000 + g % 5000 * 10) * 0.006)) / 100.0, 'FM999999990.00'), 'charge', 'ch_f' || g, 'ch_f' || g,
               null, null, null
        from generate_series(1, ${Math.max(0, Math.floor(o.foreign ?? 0))}) g) s)
      to stdout (format csv, header)`;
    const bound = knex.raw(sql, [o.createdAt, o.createdAt]).toQuery();
    await pipeline(conn.query(copyTo(bound)), fs.createWriteStream(file));
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

/** The baseline: the same file COPYed into a scratch table of the same columns, nothing else. */
export async function copyBaseline(knex: Knex, file: string): Promise<{ ms: number; rows: number }> {
  await knex.raw(`drop table if exists bench_copy_scratch;
    create unlogged table bench_copy_scratch (balance_transaction_id text, created_utc timestamp, currency text, gross numeric, fee numeric, net numeric,
      reporting_category text, source_id text, charge_id text, payment_intent_id text, meta_payment_id text, meta_court_code text, meta_refund_id text, meta_refund_court text)`);
  const conn = await knex.client.acquireConnection();
  try {
    const started = process.hrtime.bigint();
    const stream = conn.query(copyFrom('copy bench_copy_scratch from stdin (format csv, header)'));
    await pipeline(fs.createReadStream(file), stream);
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, rows: stream.rowCount };
  } finally {
    await knex.client.releaseConnection(conn);
    await knex.raw('drop table if exists bench_copy_scratch');
  }
}

/**
 * Every `every`-th of a range of seeded payments settled just after the next midnight instead (its
 * webhook came after 00:00): their processor lines stay on the day the file is for.
 */
export async function settleAfterMidnight(knex: Knex, o: { courtCode: string; from: number; count: number; every: number; at: string }): Promise<number> {
  const to = o.from + o.count - 1;
  const { rowCount } = await knex.raw(
    `update payments p set settled_at = ?::timestamptz + make_interval(secs => p.id % 5)
       from invoices i where i.id = p.invoice_id and i.court_code = ? and i.public_id between ? and ? and p.id % ? = 0`,
    [o.at, o.courtCode, `inv_b${String(o.from).padStart(12, '0')}`, `inv_b${String(to).padStart(12, '0')}`, o.every],
  );
  await knex.raw('analyze payments');
  return rowCount ?? 0;
}
