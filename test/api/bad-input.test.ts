import { expect } from 'chai';
import { aCase, anInvoice, api, auth, enc, tableCounts } from '../support/builders';
import { keyFor } from '../support/env';

/** Bad input gets a 4xx problem+json naming the field, and changes nothing. */
describe('bad input', () => {
  let cs: string;
  let caseNumber: string;
  let invoiceId: string;
  const payer = { name: '王五', role: 'plaintiff' };

  before(async () => {
    cs = await keyFor('case_system', 'all');
    caseNumber = await aCase(cs);
    invoiceId = (await anInvoice(cs, caseNumber)).id;
  });

  const invoicePath = () => `/v1/cases/${enc(caseNumber)}/invoices`;
  const cases: { name: string; status: number; field: string; send: () => ReturnType<ReturnType<typeof api>['post']> }[] = [
    { name: 'unknown court', status: 422, field: 'courtCode', send: () => api().put(`/v1/cases/${enc('(2026)晋0105民初99999号')}`).set(auth(cs)).send({ courtCode: '9999', caseType: 'civil' }) },
    { name: 'malformed case number', status: 422, field: 'caseNumber', send: () => api().put(`/v1/cases/${enc('2026-0105-1234')}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil' }) },
    { name: 'unknown case type', status: 422, field: 'caseType', send: () => api().put(`/v1/cases/${enc('(2026)晋0105民初99998号')}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'gossip' }) },
    { name: 'negative claim', status: 422, field: 'claimAmount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: -1, payer }) },
    { name: 'fractional claim', status: 422, field: 'claimAmount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 100.5, payer }) },
    { name: 'absurd claim (over 10^13 fen)', status: 422, field: 'claimAmount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 10_000_000_000_001, payer }) },
    { name: 'claim as text', status: 422, field: 'claimAmount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 'lots', payer }) },
    { name: 'unknown fee kind', status: 422, field: 'feeKind', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'parking', claimAmount: 100, payer }) },
    { name: 'property fee without a claim', status: 422, field: 'claimAmount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_property', payer }) },
    { name: 'due date in the past', status: 422, field: 'dueDate', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer, dueDate: '2001-01-01' }) },
    { name: 'due date not a date', status: 422, field: 'dueDate', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer, dueDate: '2027-02-30' }) },
    { name: 'payer without a name', status: 422, field: 'payer.name', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer: { name: '  ', role: 'plaintiff' } }) },
    { name: 'no payer', status: 422, field: 'payer', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour' }) },
    { name: 'unknown field', status: 422, field: 'discount', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer, discount: 50 }) },
    { name: 'halving an application fee', status: 422, field: 'halving', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'preservation', claimAmount: 100, halving: 'withdrawal', payer }) },
    { name: 'malformed JSON', status: 400, field: 'body', send: () => api().post(invoicePath()).set(auth(cs)).set('content-type', 'application/json').send('{"feeKind": ') },
    { name: 'wrong content type', status: 415, field: 'Content-Type', send: () => api().post(invoicePath()).set(auth(cs)).set('content-type', 'text/plain').send('feeKind=acceptance_labour') },
    { name: 'oversize body', status: 413, field: 'body', send: () => api().post(invoicePath()).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer: { ...payer, name: 'x'.repeat(200_000) } }) },
    { name: 'idempotency key too long', status: 422, field: 'Idempotency-Key', send: () => api().post(invoicePath()).set(auth(cs)).set('idempotency-key', 'k'.repeat(256)).send({ feeKind: 'acceptance_labour', payer }) },
    { name: 'reduction under 30%', status: 422, field: 'reductionPercent', send: () => api().post(`/v1/invoices/${invoiceId}/remissions`).set(auth(cs)).send({ kind: 'reduction', decisionRef: 'R1', decidedBy: '张法官', decidedAt: '2026-11-20', reductionPercent: 20 }) },
    { name: 'malformed invoice id', status: 422, field: 'invoiceId', send: () => api().post('/v1/invoices/pay_123/cancel').set(auth(cs)) },
    { name: 'bad list limit', status: 422, field: 'limit', send: () => api().get('/v1/invoices?limit=501').set(auth(cs)) as never },
    { name: 'forged cursor', status: 422, field: 'cursor', send: () => api().get('/v1/invoices?cursor=bm9wZQ').set(auth(cs)) as never },
  ];

  for (const c of cases) {
    it(`when the request has ${c.name}, then ${c.status} problem+json naming ${c.field}, and nothing is written`, async () => {
      const before = await tableCounts();
      const res = await c.send();
      expect(res.status, res.text).to.equal(c.status);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body.code).to.be.a('string');
      expect(res.body.errors?.map((e: { field: string }) => e.field), res.text).to.include(c.field);
      expect(res.text).not.to.match(/\bat .+\.(ts|js):\d+/); // no stack traces to clients
      expect(await tableCounts()).to.deep.equal(before);
    });
  }

  it('when an unknown route is called, then 404 problem+json', async () => {
    const res = await api().get('/v1/nothing-here').set(auth(cs));
    expect(res.status).to.equal(404);
    expect(res.body.code).to.equal('route_not_found');
  });
});
