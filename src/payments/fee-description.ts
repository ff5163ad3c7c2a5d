import type { Knex } from 'knex';
import type { Config } from '../config';
import type { PaymentRow } from './payment-store';

/**
 * What the processor shows of a payment — the line item on its checkout page, the payment's
 * description on its dashboard and on the charge: the court and the case number, so a payer's
 * statement and the court's finance staff can tell what it was for, then our payment id.
 */
export async function feeDescription(knex: Knex, config: Readonly<Config>, payment: Pick<PaymentRow, 'invoice_id' | 'court_code' | 'public_id'>): Promise<string> {
  const row = await knex('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.id', payment.invoice_id).first<{ case_number: string }>('c.case_number');
  const court = config.courts.find((c) => c.code === payment.court_code)?.name ?? payment.court_code;
  return `诉讼费 Court fee ${court} ${row?.case_number ?? ''} ${payment.public_id}`.replace(/\s+/g, ' ');
}
