import type { Knex } from 'knex';
import type { Config } from '../../src/config';
import { feeLateral, seedCasesAndInvoices } from './seed';

/**
 * One unpaid invoice per case (the acceptance fee the 2007 schedule gives a claim, halved under
 * summary procedure) and one pending Stripe payment on each, for the whole amount due — what
 * the payment flow leaves behind once a payer has opened Checkout. Keys are derived from row
 * ids, so every unique constraint holds however many rows are asked for.
 */
const INVOICES_SQL = `
insert into invoices (public_id, case_id, court_code, fee_kind, stage, payer, basis, schedule_version, breakdown,
                      statutory_amount, amount_due, paid_amount, status, notice_date, due_date, payment_token, created_at, updated_at)
select 'inv_' || substr(md5('whinv' || id), 1, 10) || lpad(id::text, 10, '0'), id, court_code, fee_kind,
       case when type_designation = '民终' then 'appeal' else 'first_instance' end,
       jsonb_build_object('name', parties -> 0 ->> 'name', 'role', 'plaintiff', 'type', 'natural_person'),
       jsonb_build_object('claimAmount', claim * 100, 'procedure', procedure),
       '2007-04-01',
       jsonb_build_array(jsonb_build_object('from', 0, 'to', claim * 100, 'rate', 'banded', 'rateBps', null, 'amount', fee,
                                            'label', 'Art. 13(一): property case, banded')),
       amount, amount, 0, 'unpaid', notice_date, notice_date + 7,
       translate(encode(decode(md5('whtok' || id) || lpad(to_hex(id), 16, '0'), 'hex'), 'base64'), '+/=', '-_'),
       notice_date + time '10:00', notice_date + time '10:00'
from (
  select c.*, f.*, fee_amount.fee,
         case when f.fee_kind like 'acceptance_%' and c.procedure = 'summary' then round(fee_amount.fee / 2.0)::bigint else fee_amount.fee end as amount,
         current_date - (random() * 5)::int as notice_date
  from cases c
${feeLateral('random()')}) s
order by id`;

const PAYMENTS_SQL = `
insert into payments (public_id, invoice_id, court_code, amount, currency, status, processor, checkout_session_id, checkout_url,
                      payment_intent_id, expires_at, created_at, updated_at)
select 'pay_' || substr(md5('whpay' || id), 1, 10) || lpad(id::text, 10, '0'), id, court_code, amount_due, 'CNY', 'pending', 'stripe',
       'cs_test_b1' || substr(md5('whcs' || id), 1, 20) || lpad(id::text, 10, '0'),
       'https://checkout.stripe.com/c/pay/cs_test_b1' || substr(md5('whcs' || id), 1, 20) || lpad(id::text, 10, '0'),
       'pi_3' || substr(md5('whpi' || id), 1, 14) || lpad(id::text, 10, '0'),
       now() + interval '1 day', now() - interval '5 minutes', now() - interval '5 minutes'
from invoices
where status = 'unpaid'
order by id`;

export interface PendingPayment {
  publicId: string;
  paymentIntentId: string;
  amount: number;
}

/** Seeds `count` cases, each with an unpaid invoice and a pending payment on it; ANALYZEs. */
export async function seedPendingPayments(knex: Knex, config: Readonly<Config>, count: number): Promise<void> {
  await seedCasesAndInvoices(knex, config, { cases: count, invoices: 0 });
  await knex.transaction(async (tx) => {
    await tx.raw('select setseed(0.2026)');
    await tx.raw(INVOICES_SQL);
    await tx.raw(PAYMENTS_SQL);
  });
  await knex.raw('analyze cases, invoices, payments');
}

/** The pending payments, in id order. */
export async function pendingPayments(knex: Knex): Promise<PendingPayment[]> {
  const rows: { public_id: string; payment_intent_id: string; amount: number }[] = await knex('payments')
    .where({ status: 'pending' })
    .orderBy('id')
    .select('public_id', 'payment_intent_id', 'amount');
  return rows.map((r) => ({ publicId: r.public_id, paymentIntentId: r.payment_intent_id, amount: r.amount }));
}
