import request from 'supertest';
import { applyObservation } from '../../src/payments/apply';
import { testEnv } from './env';

let seq = 0;


/** A fresh case number for a court designation, unique within the run. */
export function aCaseNumber(designation = '晋0105', type = '民初'): string {
  seq += 1;
  return `(2026)${designation}${type}${1000 + seq}号`;
}

export const enc = encodeURIComponent;

export function api() {
  return request(testEnv().app);
}

export function auth(key: string) {
  return { authorization: `Bearer ${key}` };
}

export interface CaseOptions {
  courtCode?: string;
  designation?: string;
  procedure?: 'ordinary' | 'summary';
  caseType?: string;
}

const DESIGNATIONS: Record<string, string> = { '1400': '晋', '1401': '晋01', '1402': '晋02', '1411': '晋0105', '1412': '晋0106', '1421': '晋0213' };

/** Registers a case through the API and returns its number. */
export async function aCase(key: string, o: CaseOptions = {}): Promise<string> {
  const courtCode = o.courtCode ?? '1411';
  const number = aCaseNumber(o.designation ?? DESIGNATIONS[courtCode]);
  const res = await api()
    .put(`/v1/cases/${enc(number)}`)
    .set(auth(key))
    .send({ courtCode, caseType: o.caseType ?? 'civil', procedure: o.procedure ?? 'ordinary' });
  if (res.status !== 201) throw new Error(`case not registered: ${res.status} ${res.text}`);
  return number;
}

export interface InvoiceOptions {
  feeKind?: string;
  claimAmount?: number;
  payer?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Issues an invoice on a case through the API and returns the response body. */
export async function anInvoice(key: string, caseNumber: string, o: InvoiceOptions = {}) {
  const res = await api()
    .post(`/v1/cases/${enc(caseNumber)}/invoices`)
    .set(auth(key))
    .send({ feeKind: 'acceptance_property', claimAmount: 5_000_000, payer: { name: '王五', role: 'plaintiff', type: 'natural_person' }, ...o });
  if (res.status !== 201) throw new Error(`invoice not issued: ${res.status} ${res.text}`);
  return res.body as { id: string; amount: number; status: string; paymentUrl: string; dueDate: string; [k: string]: unknown };
}

/** Row counts of the tables a write may touch: bad input must leave every one unchanged. */
export async function tableCounts(): Promise<Record<string, number>> {
  const { knex } = testEnv();
  const out: Record<string, number> = {};
  for (const t of ['cases', 'invoices', 'invoice_remissions', 'audit_events', 'idempotency_keys']) {
    const [{ count }] = await knex(t).count<{ count: string }[]>('* as count');
    out[t] = Number(count);
  }
  return out;
}

/**
 * A payment on an invoice, settled through the same code the webhook uses (or left pending).
 * Returns the payment row's public id and ids.
 */
export async function aPayment(invoicePublicId: string, o: { settle?: boolean; amount?: number } = {}) {
  const { knex } = testEnv();
  const inv = await knex('invoices').where({ public_id: invoicePublicId }).first();
  seq += 1;
  const [row] = await knex('payments')
    .insert({
      public_id: `pay_test${Date.now()}${seq}`,
      invoice_id: inv.id,
      court_code: inv.court_code,
      amount: o.amount ?? inv.amount_due - inv.paid_amount,
      processor: 'stripe',
      checkout_session_id: `cs_test_${seq}_${Date.now()}`,
      payment_intent_id: `pi_test_${seq}_${Date.now()}`,
      expires_at: new Date(Date.now() + 3600_000),
    })
    .returning('*');
  if (o.settle !== false) {
    await knex.transaction((tx) => applyObservation(tx, testEnv().config, row, { source: 'test', outcome: 'succeeded', amount: row.amount, currency: 'cny', chargeId: `ch_test_${seq}` }));
  }
  return knex('payments').where({ id: row.id }).first();
}
