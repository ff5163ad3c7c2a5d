import { expect } from 'chai';
import { addDays, courtToday } from '../../src/courts/courts';
import { aCase, anInvoice, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

describe('cases and invoices', () => {
  let cs: string;
  before(async () => {
    cs = await keyFor('case_system', ['1411', '1412', '1401']);
  });

  describe('registering a case', () => {
    it('when a full-width case number is registered, then it is stored in the canonical half-width form', async () => {
      const res = await api().put(`/v1/cases/${enc('（2026）晋0105民初0042号')}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil', procedure: 'summary', title: '王五诉赵六借款合同纠纷' });
      expect(res.status, res.text).to.be.oneOf([200, 201]);
      expect(res.body.caseNumber).to.equal('(2026)晋0105民初42号');
      const row = await testEnv().knex('cases').where({ case_number: '(2026)晋0105民初42号' }).first();
      expect(row).to.include({ court_code: '1411', procedure: 'summary', year: 2026, designation: '晋0105', type_designation: '民初', sequence: 42 });
    });

    it('when a registered case is PUT again, then it is updated (200) and the change is audited with before and after', async () => {
      const number = await aCase(cs);
      const res = await api().put(`/v1/cases/${enc(number)}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil', procedure: 'summary' });
      expect(res.status).to.equal(200);
      expect(res.body.procedure).to.equal('summary');
      const audit = await testEnv().knex('audit_events').where({ entity_type: 'case', entity_id: number, action: 'case.updated' }).first();
      expect(audit.before.procedure).to.equal('ordinary');
      expect(audit.after.procedure).to.equal('summary');
      expect(audit.request_id).to.be.a('string').and.not.empty;
      expect(audit.actor_type).to.equal('api_key');
    });

    it('when the case is PUT under another court, then 422 (the number is not that court\'s) and the case keeps its court', async () => {
      const number = await aCase(cs);
      const res = await api().put(`/v1/cases/${enc(number)}`).set(auth(cs)).send({ courtCode: '1412', caseType: 'civil' });
      expect(res.status).to.equal(422);
      expect(res.body.errors[0]).to.include({ field: 'caseNumber', code: 'case_number_court_mismatch' });
      expect((await testEnv().knex('cases').where({ case_number: number }).first()).court_code).to.equal('1411');
    });

    it('when the case number belongs to another province, then 422 naming caseNumber', async () => {
      const res = await api().put(`/v1/cases/${enc('(2026)京0105民初1号')}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil' });
      expect(res.status).to.equal(422);
      expect(res.body.errors[0].field).to.equal('caseNumber');
    });
  });

  describe('issuing an invoice', () => {
    it('when a property fee is issued, then amount, breakdown, due date (7 days), link and schedule version are returned and stored', async () => {
      const number = await aCase(cs);
      const inv = await anInvoice(cs, number, { claimAmount: 30_000_000 }); // 300,000 yuan → 5,800.00
      const today = courtToday('Asia/Shanghai');
      expect(inv).to.include({ amount: 580000, statutoryAmount: 580000, currency: 'CNY', status: 'unpaid', overdue: false, noticeDate: today, dueDate: addDays(today, 7), scheduleVersion: '2007-04-01', outstanding: 580000 });
      expect(inv.id).to.match(/^inv_/);
      expect(inv.paymentUrl).to.match(/^https:\/\/pay\.courts\.example\/pay\/[A-Za-z0-9_-]{32}$/);
      expect((inv.breakdown as { amount: number }[]).map((b) => b.amount)).to.deep.equal([5000, 225000, 200000, 150000]);
      const row = await testEnv().knex('invoices').where({ public_id: inv.id }).first();
      expect(row).to.include({ amount_due: 580000, statutory_amount: 580000, court_code: '1411', fee_kind: 'acceptance_property', status: 'unpaid' });
      expect(inv.paymentUrl.endsWith(row.payment_token)).to.equal(true);
      const audit = await testEnv().knex('audit_events').where({ entity_type: 'invoice', entity_id: inv.id, action: 'invoice.issued' }).first();
      expect(audit.after.amount).to.equal(580000);
      expect(JSON.stringify(audit.after)).not.to.include(row.payment_token);
    });

    it('when the case is heard under summary procedure, then the fee is halved once', async () => {
      const number = await aCase(cs, { procedure: 'summary' });
      const inv = await anInvoice(cs, number, { claimAmount: 1_000_100, halving: 'mediation' }); // 50.025 → half 25.0125 → 25.01
      expect(inv.amount).to.equal(2501);
      expect((inv.basis as { halvingReasons: string[] }).halvingReasons).to.have.members(['summary_procedure', 'mediation']);
    });

    it('when a due date is given, then it is kept; when it is in the past, then 422 naming dueDate and nothing is written', async () => {
      const number = await aCase(cs);
      const due = addDays(courtToday('Asia/Shanghai'), 20);
      expect((await anInvoice(cs, number, { dueDate: due })).dueDate).to.equal(due);
      const before = await testEnv().knex('invoices').count<{ count: string }[]>('* as count');
      const res = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 100, payer: { name: 'A', role: 'plaintiff' }, dueDate: '2020-01-01' });
      expect(res.status).to.equal(422);
      expect(res.body.errors[0].field).to.equal('dueDate');
      expect(await testEnv().knex('invoices').count('* as count')).to.deep.equal(before);
    });

    it('when a range fee is stated explicitly, then it must lie in the statutory range', async () => {
      const number = await aCase(cs);
      const ok = await anInvoice(cs, number, { feeKind: 'acceptance_other_non_property', amount: 10000, claimAmount: undefined });
      expect(ok.amount).to.equal(10000);
      const res = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_other_non_property', amount: 10001, payer: { name: 'A', role: 'plaintiff' } });
      expect(res.status).to.equal(422);
      expect(res.body.errors[0]).to.include({ field: 'amount', code: 'amount_out_of_range' });
      const computed = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 100, amount: 5000, payer: { name: 'A', role: 'plaintiff' } });
      expect(computed.status).to.equal(422);
      expect(computed.body.errors[0]).to.include({ field: 'amount', code: 'amount_not_allowed' });
    });

    it('when the province sets the fee, then the court override applies (大同平城 divorce 150 yuan)', async () => {
      const q = await api().post('/v1/fees/quote').set(auth(await keyFor('clerk', 'all'))).send({ courtCode: '1421', feeKind: 'acceptance_divorce' });
      expect(q.status).to.equal(200);
      expect(q.body.amount).to.equal(15000);
      const q2 = await api().post('/v1/fees/quote').set(auth(cs)).send({ courtCode: '1411', feeKind: 'acceptance_divorce', propertyAmount: 30_000_000 });
      expect(q2.body.amount).to.equal(20000 + 50000); // 200 yuan + 0.5% of 100,000 yuan
    });
  });

  describe('reading fee status', () => {
    it('when a case has invoices, then totals add up and a cancelled one is out of what is due', async () => {
      const number = await aCase(cs);
      const a = await anInvoice(cs, number, { claimAmount: 5_000_000 });
      const b = await anInvoice(cs, number, { feeKind: 'preservation', claimAmount: 5_000_000 });
      const c = await anInvoice(cs, number, { feeKind: 'public_notice', claimAmount: undefined });
      await api().post(`/v1/invoices/${c.id}/cancel`).set(auth(cs)).send({ reason: 'issued in error' }).expect(200);
      const res = await api().get(`/v1/cases/${enc(number)}/fees`).set(auth(cs));
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ caseNumber: number, courtCode: '1411', status: 'unpaid', overdue: false });
      expect(res.body.totals).to.deep.equal({ due: a.amount + b.amount, paid: 0, refunded: 0, outstanding: a.amount + b.amount });
      expect(res.body.invoices.map((i: { id: string; status: string }) => [i.id, i.status])).to.deep.equal([[a.id, 'unpaid'], [b.id, 'unpaid'], [c.id, 'cancelled']]);
    });

    it('when an invoice is past its due date and unpaid, then it and the case show overdue', async () => {
      const number = await aCase(cs);
      const inv = await anInvoice(cs, number);
      await testEnv().knex('invoices').where({ public_id: inv.id }).update({ notice_date: '2026-01-01', due_date: '2026-01-08' });
      const res = await api().get(`/v1/invoices/${inv.id}`).set(auth(cs));
      expect(res.body.overdue).to.equal(true);
      expect((await api().get(`/v1/cases/${enc(number)}/fees`).set(auth(cs))).body.overdue).to.equal(true);
    });

    it('when a case has no invoices, then its status is no_fees with zero totals', async () => {
      const number = await aCase(cs);
      const res = await api().get(`/v1/cases/${enc(number)}/fees`).set(auth(cs));
      expect(res.body).to.deep.include({ status: 'no_fees', totals: { due: 0, paid: 0, refunded: 0, outstanding: 0 }, invoices: [] });
    });
  });

  describe('listing invoices', () => {
    it('when more invoices than the limit match, then pages follow the cursor without overlap', async () => {
      const number = await aCase(cs);
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await anInvoice(cs, number, { claimAmount: 100_000 + i })).id);
      const page1 = await api().get(`/v1/invoices?caseNumber=${enc(number)}&limit=2`).set(auth(cs));
      const page2 = await api().get(`/v1/invoices?caseNumber=${enc(number)}&limit=2&cursor=${page1.body.nextCursor}`).set(auth(cs));
      const page3 = await api().get(`/v1/invoices?caseNumber=${enc(number)}&limit=2&cursor=${page2.body.nextCursor}`).set(auth(cs));
      const seen = [...page1.body.data, ...page2.body.data, ...page3.body.data].map((i: { id: string }) => i.id);
      expect(seen).to.deep.equal([...ids].reverse());
      expect(page3.body.nextCursor).to.equal(null);
    });

    it('when a clerk of one court lists, then only that court’s invoices come back', async () => {
      const other = await aCase(cs, { courtCode: '1412' });
      const mine = await aCase(cs, { courtCode: '1411' });
      const otherInv = await anInvoice(cs, other);
      const mineInv = await anInvoice(cs, mine);
      const clerk = await keyFor('clerk', ['1411']);
      const res = await api().get('/v1/invoices?limit=500').set(auth(clerk));
      const ids = res.body.data.map((i: { id: string }) => i.id);
      expect(ids).to.include(mineInv.id).and.not.include(otherInv.id);
      expect(res.body.data.every((i: { courtCode: string }) => i.courtCode === '1411')).to.equal(true);
      expect((await api().get('/v1/invoices?courtCode=1412').set(auth(clerk))).status).to.equal(403);
    });

    it('when filtered by status, then only invoices of that status come back', async () => {
      const number = await aCase(cs);
      const keep = await anInvoice(cs, number);
      const gone = await anInvoice(cs, number);
      await api().post(`/v1/invoices/${gone.id}/cancel`).set(auth(cs)).expect(200);
      const res = await api().get(`/v1/invoices?caseNumber=${enc(number)}&status=cancelled`).set(auth(cs));
      expect(res.body.data.map((i: { id: string }) => i.id)).to.deep.equal([gone.id]);
      expect(keep.id).not.to.equal(gone.id);
    });
  });

  describe('cancelling', () => {
    it('when an unpaid invoice is cancelled, then it is cancelled with its reason; a second cancel is 409', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const res = await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(cs)).send({ reason: 'wrong payer' });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ status: 'cancelled', cancelReason: 'wrong payer', outstanding: 0 });
      const again = await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(cs));
      expect(again.status).to.equal(409);
      expect(again.body.code).to.equal('invoice_not_cancellable');
    });

    it('when money was settled on the invoice, then it cannot be cancelled', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      await testEnv().knex('invoices').where({ public_id: inv.id }).update({ paid_amount: 100, status: 'partially_paid' });
      const res = await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(cs));
      expect(res.status).to.equal(409);
      expect((await testEnv().knex('invoices').where({ public_id: inv.id }).first()).status).to.equal('partially_paid');
    });
  });
});
