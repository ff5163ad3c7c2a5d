import { expect } from 'chai';
import { addDays } from '../../src/courts/courts';
import { aCase, anInvoice, aPayment, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { aRefund, stripeApi } from '../support/stripe';

/** Statutory refunds from case outcomes, with the amounts FEE-LAW.md's worked examples give. */
describe('case outcomes and the refunds the law requires', () => {
  let cs: string;
  let clerk: string;
  before(async () => {
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
  });

  const record = (caseNumber: string, body: Record<string, unknown>) => api().post(`/v1/cases/${enc(caseNumber)}/outcome`).set(auth(cs)).send(body);

  async function paidCase(claimYuan: number, o: { procedure?: 'summary'; stage?: string; payerRole?: string } = {}) {
    const number = await aCase(cs, { procedure: o.procedure });
    const inv = await anInvoice(cs, number, { claimAmount: claimYuan * 100, stage: o.stage, payer: { name: '王五', role: o.payerRole ?? 'plaintiff' } });
    const payment = await aPayment(inv.id);
    return { number, inv, payment };
  }

  const cases: { name: string; claim: number; body: Record<string, unknown>; fee: number; refund: number; status: string; setup?: { procedure?: 'summary'; stage?: string; payerRole?: string } }[] = [
    { name: 'withdrawn after paying 1,050.00 (claim 50,000)', claim: 50_000, body: { outcome: 'withdrawn' }, fee: 105000, refund: 52500, status: 'withdrawn' },
    { name: 'mediated after paying 50.03 (claim 10,001): half is 25.01, so 25.02 back', claim: 10_001, body: { outcome: 'mediated' }, fee: 5003, refund: 2502, status: 'mediated' },
    { name: 'withdrawn when summary procedure already halved the fee (halved only once)', claim: 50_000, body: { outcome: 'withdrawn' }, fee: 52500, refund: 0, status: 'withdrawn', setup: { procedure: 'summary' } },
    { name: 'not accepted (claim 300,000): the whole 5,800.00', claim: 300_000, body: { outcome: 'not_accepted' }, fee: 580000, refund: 580000, status: 'not_accepted' },
    { name: 'suit dismissed (claim 150,000): the whole 3,300.00', claim: 150_000, body: { outcome: 'dismissed' }, fee: 330000, refund: 330000, status: 'dismissed' },
    { name: 'remanded: the appellant’s appeal fee on 3,000,000 (30,800.00)', claim: 3_000_000, body: { outcome: 'remanded' }, fee: 3080000, refund: 3080000, status: 'remanded', setup: { stage: 'appeal', payerRole: 'appellant' } },
    { name: 'claim reduced from 7,500,000 to 3,000,000: 64,300.00 − 30,800.00', claim: 7_500_000, body: { outcome: 'claim_reduced', newClaimAmount: 300_000_000 }, fee: 6430000, refund: 3350000, status: 'open' },
    { name: 'judged, the defendant bears it all: the plaintiff’s 3,300.00 back', claim: 150_000, body: { outcome: 'judged', feeAllocation: [{ role: 'defendant', sharePercent: 100 }, { role: 'plaintiff', sharePercent: 0 }] }, fee: 330000, refund: 330000, status: 'judged' },
    { name: 'judged 30/70: the plaintiff keeps 30% of 3,300.00 and gets 2,310.00 back', claim: 150_000, body: { outcome: 'judged', feeAllocation: [{ role: 'plaintiff', sharePercent: 30 }, { role: 'defendant', sharePercent: 70 }] }, fee: 330000, refund: 231000, status: 'judged' },
    { name: 'transferred to another court: the prepayment moves with the case', claim: 50_000, body: { outcome: 'transferred' }, fee: 105000, refund: 0, status: 'transferred' },
  ];

  for (const c of cases) {
    it(`when ${c.name}, then ${c.refund} fen is proposed for approval, due 15 days after the outcome`, async () => {
      const { number, inv, payment } = await paidCase(c.claim, c.setup);
      expect(inv.amount).to.equal(c.fee);
      const res = await record(number, { ...c.body, effectiveDate: '2026-11-20' });
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ caseNumber: number, caseStatus: c.status, effectiveDate: '2026-11-20' });
      const total = res.body.refunds.reduce((s: number, r: { amount: number }) => s + r.amount, 0);
      expect(total).to.equal(c.refund);
      for (const r of res.body.refunds) {
        expect(r).to.include({ status: 'requested', origin: 'statutory', dueDate: addDays('2026-11-20', 15), paymentId: payment.public_id });
      }
      expect((await testEnv().knex('cases').where({ case_number: number }).first()).status).to.equal(c.status);
    });
  }

  it('when the remanded case also has a first-instance fee, then only the appeal fee comes back', async () => {
    const number = await aCase(cs);
    const first = await anInvoice(cs, number, { claimAmount: 5_000_000 });
    const appeal = await anInvoice(cs, number, { claimAmount: 5_000_000, stage: 'appeal', payer: { name: '赵六', role: 'appellant' } });
    await aPayment(first.id);
    await aPayment(appeal.id);
    const res = await record(number, { outcome: 'remanded', effectiveDate: '2026-11-20' });
    expect(res.body.refunds.map((r: { invoiceId: string; amount: number }) => [r.invoiceId, r.amount])).to.deep.equal([[appeal.id, 105000]]);
  });

  it('when the fee was paid in two payments, then the refund is split across them, newest first', async () => {
    const number = await aCase(cs);
    const inv = await anInvoice(cs, number, { claimAmount: 5_000_000 });
    const older = await aPayment(inv.id, { amount: 80000 });
    const newer = await aPayment(inv.id, { amount: 25000 });
    const res = await record(number, { outcome: 'withdrawn', effectiveDate: '2026-11-20' });
    expect(res.body.refunds.map((r: { paymentId: string; amount: number }) => [r.paymentId, r.amount])).to.deep.equal([[newer.public_id, 25000], [older.public_id, 27500]]);
  });

  it('when nothing was paid, then no refund is proposed; recording a second outcome is 409', async () => {
    const number = await aCase(cs);
    await anInvoice(cs, number);
    const res = await record(number, { outcome: 'withdrawn', effectiveDate: '2026-11-20' });
    expect(res.body.refunds).to.deep.equal([]);
    const again = await record(number, { outcome: 'mediated', effectiveDate: '2026-11-21' });
    expect(again.status).to.equal(409);
    expect(again.body.code).to.equal('case_closed');
  });

  it('when a statutory refund is past its due date and not paid, then it is listed as overdue', async () => {
    const { number } = await paidCase(50_000);
    const res = await record(number, { outcome: 'withdrawn', effectiveDate: '2026-01-05' });
    const id = res.body.refunds[0].id;
    const overdue = await api().get('/v1/refunds?overdue=true&courtCode=1411&limit=500').set(auth(clerk));
    expect(overdue.body.data.find((r: { id: string }) => r.id === id)).to.include({ overdue: true, dueDate: '2026-01-20' });
    const fresh = await paidCase(50_000);
    const later = await record(fresh.number, { outcome: 'withdrawn', effectiveDate: '2099-01-01' });
    const notYet = await api().get('/v1/refunds?overdue=true&limit=500').set(auth(clerk));
    expect(notYet.body.data.map((r: { id: string }) => r.id)).not.to.include(later.body.refunds[0].id);
  });

  it('when a statutory refund is approved, then any approver may approve it (the service requested it)', async () => {
    const { number } = await paidCase(50_000);
    const res = await record(number, { outcome: 'withdrawn', effectiveDate: '2026-11-20' });
    const approver = await keyFor('approver', ['1411']);
    const nockScope = stripeApi().post('/v1/refunds').reply(200, aRefund({ amount: 52500, metadata: { refund_id: res.body.refunds[0].id } }));
    const ok = await api().post(`/v1/refunds/${res.body.refunds[0].id}/approve`).set(auth(approver));
    expect(ok.status).to.equal(200);
    expect(ok.body.status).to.equal('succeeded');
    expect(nockScope.isDone()).to.equal(true);
  });

  it('when judged without shares adding up to 100, then 422 naming feeAllocation and nothing changes', async () => {
    const { number } = await paidCase(50_000);
    const res = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [{ role: 'plaintiff', sharePercent: 40 }] });
    expect(res.status).to.equal(422);
    expect(res.body.errors[0].field).to.equal('feeAllocation');
    expect((await testEnv().knex('cases').where({ case_number: number }).first()).status).to.equal('open');
  });
});
