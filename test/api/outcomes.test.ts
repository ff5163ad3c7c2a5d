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
      const invoice = (await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body;
      expect(invoice, 'the invoice now asks for what is owed').to.include({ amount: c.fee - c.refund, paidAmount: c.fee, outstanding: 0 });
      expect(res.body.invoicesLowered).to.deep.equal(c.refund > 0 ? [{ id: inv.id, amountBefore: c.fee, amountAfter: c.fee - c.refund, status: c.fee - c.refund === c.fee ? 'paid' : 'overpaid' }] : []);
    });
  }

  it('when the claim is reduced twice, then each time the invoice comes down to the fee on the claim as it now stands and the difference is proposed back', async () => {
    const { number, inv } = await paidCase(7_500_000);
    const first = await record(number, { outcome: 'claim_reduced', newClaimAmount: 300_000_000, effectiveDate: '2026-11-20' });
    const second = await record(number, { outcome: 'claim_reduced', newClaimAmount: 15_000_000, effectiveDate: '2026-11-21' });
    expect([first.status, second.status]).to.deep.equal([201, 201]);
    expect([...first.body.refunds, ...second.body.refunds].map((r: { amount: number }) => r.amount)).to.deep.equal([3350000, 2750000]);
    expect(second.body.invoicesLowered).to.deep.equal([{ id: inv.id, amountBefore: 3080000, amountAfter: 330000, status: 'overpaid' }]);
    expect((await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body).to.include({ amount: 330000, statutoryAmount: 6430000 });
  });

  it('when a court had reduced the fee, then a reduced claim leaves that decision as it was', async () => {
    const number = await aCase(cs);
    const inv = await anInvoice(cs, number, { claimAmount: 750_000_000 });
    const reduced = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'reduction', decisionRef: '(2026)晋0105司救1号', decidedBy: '张法官', decidedAt: '2026-11-20', reductionPercent: 50 });
    expect(reduced.status, reduced.text).to.equal(200);
    const res = await record(number, { outcome: 'claim_reduced', newClaimAmount: 300_000_000, effectiveDate: '2026-11-21' });
    expect(res.body.invoicesLowered).to.deep.equal([]);
    expect((await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body).to.include({ amount: 3215000 });
  });

  it('when a case is withdrawn before its fee was paid, then the notice asks for half, nothing is refunded, and the change is audited', async () => {
    const number = await aCase(cs);
    const inv = await anInvoice(cs, number, { claimAmount: 5_000_000 });
    const res = await record(number, { outcome: 'withdrawn', effectiveDate: '2026-11-20' });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.refunds).to.deep.equal([]);
    expect(res.body.invoicesLowered).to.deep.equal([{ id: inv.id, amountBefore: 105000, amountAfter: 52500, status: 'unpaid' }]);
    const invoice = (await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body;
    expect(invoice).to.include({ statutoryAmount: 105000, amount: 52500, outstanding: 52500, status: 'unpaid' });
    const notice = await api().get(`/pay/${inv.paymentUrl.split('/pay/')[1]}`);
    expect(notice.text).to.include('立即缴费 ¥525.00');
    const audit = await testEnv().knex('audit_events').where({ action: 'invoice.amount_due_lowered', entity_id: inv.id }).first();
    expect(audit.before).to.deep.equal({ amountDue: 105000, status: 'unpaid' });
    expect(audit.after).to.deep.equal({ amountDue: 52500, status: 'unpaid', outcome: 'withdrawn' });
  });

  it('when part was paid and the case is mediated, then only the rest of the half is owed; when not accepted, nothing is owed and what was paid comes back', async () => {
    const number = await aCase(cs);
    const inv = await anInvoice(cs, number, { claimAmount: 5_000_000 });
    await aPayment(inv.id, { amount: 30000 });
    const res = await record(number, { outcome: 'mediated', effectiveDate: '2026-11-20' });
    expect(res.body.refunds).to.deep.equal([]);
    expect((await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body).to.include({ amount: 52500, paidAmount: 30000, outstanding: 22500, status: 'partially_paid' });

    const other = await aCase(cs);
    const second = await anInvoice(cs, other, { claimAmount: 5_000_000 });
    await aPayment(second.id, { amount: 30000 });
    const refused = await record(other, { outcome: 'not_accepted', effectiveDate: '2026-11-20' });
    expect(refused.body.refunds.map((r: { amount: number }) => r.amount)).to.deep.equal([30000]);
    expect((await api().get(`/v1/invoices/${second.id}`).set(auth(cs))).body).to.include({ amount: 0, paidAmount: 30000, outstanding: 0, status: 'overpaid' });
  });

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

  /** A case whose registration names its parties (the case system's PUT, again, with parties). */
  async function caseWithParties(parties: { name: string; role: string; type?: string }[]) {
    const number = await aCase(cs);
    const res = await api().put(`/v1/cases/${enc(number)}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil', procedure: 'ordinary', parties });
    expect(res.status, res.text).to.equal(200);
    return number;
  }

  it('when judged 30/70, then the defendant registered on the case is invoiced its 70% of the fee, and the plaintiff’s invoice asks only its 30%', async () => {
    const number = await caseWithParties([{ name: '王五', role: 'plaintiff', type: 'natural_person' }, { name: '某某有限公司', role: 'defendant', type: 'legal_person' }]);
    const inv = await anInvoice(cs, number, { claimAmount: 15_000_000 });
    await aPayment(inv.id);
    const res = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [{ role: 'plaintiff', sharePercent: 30 }, { role: 'defendant', sharePercent: 70 }] });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.unbilled).to.deep.equal([]);
    expect(res.body.invoicesIssued).to.have.length(1);
    const issued = res.body.invoicesIssued[0];
    expect(issued).to.include({ caseNumber: number, feeKind: 'acceptance_property', amount: 231000, statutoryAmount: 330000, status: 'unpaid', outstanding: 231000 });
    expect(issued.payer).to.deep.equal({ name: '某某有限公司', role: 'defendant', type: 'legal_person' });
    expect(issued.paymentUrl).to.match(/\/pay\/[A-Za-z0-9_-]+$/);
    const fees = (await api().get(`/v1/cases/${enc(number)}/fees`).set(auth(cs))).body;
    expect(fees.totals).to.deep.equal({ due: 330000, paid: 330000, refunded: 0, outstanding: 231000 });
    expect(fees.invoices.map((i: { id: string; amount: number }) => [i.id, i.amount])).to.deep.equal([[inv.id, 99000], [issued.id, 231000]]);
    const notice = await api().get(`/pay/${issued.paymentUrl.split('/pay/')[1]}`);
    expect(notice.text).to.include('某某有限公司').and.to.include('立即缴费 ¥2,310.00').and.to.include('按裁判应负担的 70%');
    expect((await api().get(`/pay/${issued.paymentUrl.split('/pay/')[1]}?lang=en`)).text).to.include('your 70% share under the judgment');
    const audit = await testEnv().knex('audit_events').where({ action: 'invoice.issued', entity_id: issued.id }).first();
    expect(audit.after).to.include({ amount: 231000 });
  });

  it('when judged with the loser unnamed on the case, then its share is reported unbilled; with the payer given, it is invoiced; shares add up to the fee to the fen', async () => {
    const number = await aCase(cs);
    const inv = await anInvoice(cs, number, { claimAmount: 1_000_100 }); // 50.03 yuan
    await aPayment(inv.id);
    const split = [{ role: 'plaintiff', sharePercent: 50 }, { role: 'defendant', sharePercent: 50 }];
    const res = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: split });
    expect(res.body.invoicesIssued).to.deep.equal([]);
    expect(res.body.unbilled).to.deep.equal([{ invoiceId: inv.id, role: 'defendant', sharePercent: 50, amount: 2501, reason: 'no defendant is registered on the case: give feeAllocation[].payer to invoice it' }]);
    expect(res.body.invoicesLowered).to.deep.equal([{ id: inv.id, amountBefore: 5003, amountAfter: 2502, status: 'overpaid' }]);

    const other = await aCase(cs);
    const second = await anInvoice(cs, other, { claimAmount: 1_000_100 });
    await aPayment(second.id);
    const named = await record(other, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [split[0], { ...split[1], payer: { name: '李四', type: 'natural_person', phone: '13800000000' } }] });
    expect(named.body.unbilled).to.deep.equal([]);
    expect(named.body.invoicesIssued.map((i: { amount: number; payer: unknown }) => [i.amount, i.payer])).to.deep.equal([[2501, { name: '李四', type: 'natural_person', phone: '13800000000', role: 'defendant' }]]);
  });

  it('when an allocation names a role twice or gives the payer a role, then 422 naming feeAllocation and nothing changes', async () => {
    const { number } = await paidCase(50_000);
    const twice = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [{ role: 'defendant', sharePercent: 50 }, { role: 'defendant', sharePercent: 50 }] });
    expect(twice.status).to.equal(422);
    expect(twice.body.errors[0].field).to.match(/^feeAllocation/);
    const roled = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [{ role: 'defendant', sharePercent: 100, payer: { name: '李四', role: 'plaintiff' } }] });
    expect(roled.status).to.equal(422);
    expect(roled.body.errors[0].field).to.equal('feeAllocation.0.payer.role');
    expect((await testEnv().knex('cases').where({ case_number: number }).first()).status).to.equal('open');
  });

  it('when judged without shares adding up to 100, then 422 naming feeAllocation and nothing changes', async () => {
    const { number } = await paidCase(50_000);
    const res = await record(number, { outcome: 'judged', effectiveDate: '2026-11-20', feeAllocation: [{ role: 'plaintiff', sharePercent: 40 }] });
    expect(res.status).to.equal(422);
    expect(res.body.errors[0].field).to.equal('feeAllocation');
    expect((await testEnv().knex('cases').where({ case_number: number }).first()).status).to.equal('open');
  });
});
