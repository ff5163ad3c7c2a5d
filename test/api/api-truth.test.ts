import { expect } from 'chai';
import { addDays } from '../../src/courts/courts';
import { aCase, anInvoice, aPayment, api, auth, enc, tableCounts } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, anIntent, aRefund, aSession, deliver, expectStripeStubsUsed, stripeApi } from '../support/stripe';

/** The API says what the database holds, and takes from JSON only what the contract says. */
describe('the API telling the whole truth', () => {
  let cs: string, clerk: string;
  const payer = { name: '王五', role: 'plaintiff' };
  before(async () => {
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
  });

  describe('JSON bodies keep their types', () => {
    const strings: [what: string, body: Record<string, unknown>, field: string][] = [
      ['a claim amount given as a string', { feeKind: 'acceptance_property', claimAmount: '100', payer }, 'claimAmount'],
      ['a fixed amount given as a string', { feeKind: 'acceptance_labour', amount: '1000', payer }, 'amount'],
      ['a claim amount given as a numeric string with spaces', { feeKind: 'acceptance_property', claimAmount: ' 5000000 ', payer }, 'claimAmount'],
    ];
    for (const [what, body, field] of strings) {
      it(`when an invoice is issued with ${what}, then 422 names ${field} and nothing is written`, async () => {
        const caseNumber = await aCase(cs);
        const before = await tableCounts();
        const res = await api().post(`/v1/cases/${enc(caseNumber)}/invoices`).set(auth(cs)).send(body);
        expect(res.status, res.text).to.equal(422);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        expect(res.body.errors.map((e: { field: string }) => e.field)).to.deep.equal([field]);
        expect(res.body.errors[0].message).to.match(/not a string/);
        expect(await tableCounts()).to.deep.equal(before);
      });
    }

    it('when a refund amount is a string, then 422 names amount and no refund is made', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const p = await aPayment(inv.id);
      const res = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: '100', reasonCode: 'overpayment' });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.errors[0].field).to.equal('amount');
      expect(await testEnv().knex('refunds').where({ payment_id: p.id })).to.deep.equal([]);
    });

    it('when the numbers are numbers and the dates strings, then the invoice is issued; a query string is still text turned into numbers', async () => {
      const caseNumber = await aCase(cs);
      const due = addDays(new Date().toISOString().slice(0, 10), 20);
      const res = await api().post(`/v1/cases/${enc(caseNumber)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 10_000_000, payer: { ...payer, name: '  王五 ' }, dueDate: due });
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ amount: 230_000, dueDate: due });
      expect(res.body.payer.name, 'strings are still trimmed').to.equal('王五');
      const listed = await api().get('/v1/invoices').query({ caseNumber, limit: '5' }).set(auth(cs));
      expect(listed.status, listed.text).to.equal(200);
      expect(listed.body.data.map((i: { id: string }) => i.id)).to.deep.equal([res.body.id]);
    });
  });

  it('when an invoice with a deferral is cancelled, then the cancel answer shows the deferral, as GET does', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const deferral = { kind: 'deferral', decisionRef: '(2026)晋0105民初7号决定书', decidedBy: '张法官', decidedAt: '2026-11-20', newDueDate: addDays(inv.dueDate, 30) };
    expect((await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send(deferral)).status).to.equal(200);
    const cancelled = await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(cs)).send({ reason: 'withdrawn' });
    expect(cancelled.status, cancelled.text).to.equal(200);
    const got = await api().get(`/v1/invoices/${inv.id}`).set(auth(cs));
    const rows = await testEnv().knex('invoice_remissions').join('invoices', 'invoices.id', 'invoice_remissions.invoice_id').where('invoices.public_id', inv.id).select('decision_ref');
    expect(rows.map((r) => r.decision_ref)).to.deep.equal([deferral.decisionRef]);
    expect(cancelled.body.remissions.map((r: { decisionRef: string }) => r.decisionRef)).to.deep.equal([deferral.decisionRef]);
    expect(cancelled.body.remissions).to.deep.equal(got.body.remissions);
    expect(cancelled.body.status).to.equal('cancelled');
  });

  it('when the only invoice of a case is refunded in full, then the case says refunded, as the invoice does', async () => {
    const caseNumber = await aCase(cs);
    const inv = await anInvoice(cs, caseNumber);
    const p = await aPayment(inv.id);
    const approver = await keyFor('approver', ['1411']);
    const req = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: p.amount, reasonCode: 'overpayment' });
    // Approved by the previous version of the service (which sent refunds while approved): Stripe's webhook is what settles it.
    await testEnv().knex('refunds').where({ public_id: req.body.id }).update({ status: 'approved', approved_by: `api_key:${(await testEnv().authenticator.authenticate(approver))!.keyId}`, approved_at: new Date() });
    expect((await testEnv().knex('refunds').where({ public_id: req.body.id }).first()).submitted_at).to.equal(null);
    const event = anEvent('refund.created', aRefund({ amount: p.amount, status: 'succeeded', payment_intent: p.payment_intent_id, metadata: { refund_id: req.body.id } }));
    expect((await deliver(event)).body.status).to.equal('processed');
    const refund = (await api().get(`/v1/refunds/${req.body.id}`).set(auth(approver))).body;
    expect(refund.status).to.equal('succeeded');
    expect(refund.submittedAt, 'a refund the processor answered was sent').to.be.a('string');
    const fees = (await api().get(`/v1/cases/${enc(caseNumber)}/fees`).set(auth(cs))).body;
    const invoiceRow = await testEnv().knex('invoices').where({ public_id: inv.id }).first();
    expect(invoiceRow.status).to.equal('refunded');
    expect(fees.invoices.map((i: { status: string }) => i.status)).to.deep.equal(['refunded']);
    expect(fees.status).to.equal('refunded');
    const got = (await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body;
    expect(got.refunds.map((r: { id: string; status: string }) => [r.id, r.status])).to.deep.equal([[req.body.id, 'succeeded']]);
  });

  it('when a card was declined and the payer then paid on the same checkout, then the return page (ahead of the webhook) says paid and the attempt is settled', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const p = await aPayment(inv.id, { settle: false });
    const meta = { payment_id: p.public_id };
    const declined = anEvent('payment_intent.payment_failed', anIntent({ id: p.payment_intent_id, status: 'requires_payment_method', amount: p.amount, last_payment_error: { code: 'card_declined', message: 'Your card was declined.' } as never, metadata: meta }));
    expect((await deliver(declined)).body.status).to.equal('processed');
    expect(await testEnv().knex('payments').where({ id: p.id }).first()).to.include({ status: 'failed', failure_reason: 'card_declined: Your card was declined.' });
    const pi = anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: 'ch_retry', metadata: meta });
    stripeApi().get(`/v1/checkout/sessions/${p.checkout_session_id}`).query(true)
      .reply(200, aSession({ id: p.checkout_session_id, status: 'complete', payment_status: 'paid', amount_total: p.amount, payment_intent: pi, metadata: meta }));
    const token = inv.paymentUrl.split('/').pop()!;
    const page = await api().get(`/pay/${token}/return`);
    expect(page.status).to.equal(200);
    expect(page.text).to.include('缴费成功');
    expect(await testEnv().knex('payments').where({ id: p.id }).first()).to.include({ status: 'succeeded', settled_amount: p.amount, failure_reason: null });
    expect((await testEnv().knex('invoices').where({ id: p.invoice_id }).first()).status).to.equal('paid');
    expectStripeStubsUsed();
  });

  describe('page language: Chinese unless chosen, and a choice sticks', () => {
    it('when a browser asks for English but nobody chose, then the notice is Chinese', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const token = inv.paymentUrl.split('/').pop()!;
      const res = await api().get(`/pay/${token}`).set('accept-language', 'en-US,en;q=0.9');
      expect(res.text).to.include('<html lang="zh-CN">');
      expect(res.headers['set-cookie']).to.equal(undefined);
    });

    it('when ?lang=en is chosen, then a lang cookie keeps it for /pay and the next pages without ?lang follow it, until ?lang=zh', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const token = inv.paymentUrl.split('/').pop()!;
      const chose = await api().get(`/pay/${token}?lang=en`).set('accept-language', 'zh-CN');
      expect(chose.text).to.include('<html lang="en">');
      const cookie = String(chose.headers['set-cookie']);
      expect(cookie).to.match(/^lang=en;/).and.match(/Path=\/pay/).and.match(/SameSite=Lax/);
      expect(cookie).not.to.match(/HttpOnly/i);
      const later = await api().get(`/pay/${token}/receipt`).set('cookie', 'lang=en').set('accept-language', 'zh-CN');
      expect(later.text).to.include('<html lang="en">');
      const back = await api().get(`/pay/${token}?lang=zh`).set('cookie', 'lang=en');
      expect(back.text).to.include('<html lang="zh-CN">');
      expect(String(back.headers['set-cookie'])).to.match(/^lang=zh;/);
    });
  });
});
