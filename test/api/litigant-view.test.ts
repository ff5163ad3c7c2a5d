import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type Stripe from 'stripe';
import request from 'supertest';
import { buildApp, type App } from '../../src/http/app';
import { methodOfIntent } from '../../src/payments/observe';
import { createStripeClient, type Processor } from '../../src/payments/processor';
import { sandboxStripeSecretKey, startSandbox, type Sandbox } from '../../src/sandbox';
import { aCase, anInvoice, auth, enc } from '../support/builders';
import { keyFor, TEST_STRIPE, testEnv } from '../support/env';

/**
 * What a litigant and a case system see, with the service running on the sandbox processor as
 * `npm start` does: the payer declines, pays on the same checkout, the court refunds twice. Every
 * answer is compared with what the database holds.
 */
describe('what the litigant and the case system see (service on the sandbox processor)', () => {
  let sandbox: Sandbox;
  let server: http.Server;
  let app: App;
  let stripe: Stripe;
  let cs: string, clerk: string, approver: string, finance: string;
  const web = () => request(app);
  const knex = () => testEnv().knex;

  before(async () => {
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
    approver = await keyFor('approver', ['1411']);
    finance = await keyFor('finance', ['1411']);
    const { config, authenticator } = testEnv();
    let port = 0;
    sandbox = await startSandbox({ knex: knex(), env: 'test', publicBaseUrl: config.publicBaseUrl, webhookUrl: () => `http://127.0.0.1:${port}/webhooks/stripe`, webhookSecret: TEST_STRIPE.webhookSecret, webhookBackoffMs: 10 });
    stripe = createStripeClient(sandboxStripeSecretKey(), config, sandbox.apiBase);
    const processor: Processor = { stripe, kind: 'sandbox', webhookSecrets: [TEST_STRIPE.webhookSecret], secretKey: sandboxStripeSecretKey() };
    app = buildApp({ knex: knex(), config, authenticator, processor, sandboxPages: sandbox.pages });
    server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await sandbox?.stop();
    await new Promise((r) => server?.close(r));
  });

  /** A 2,300.00 fee (claim of 100,000.00 yuan) and the litigant's press of the pay button: its attempt and session. */
  async function startPaying() {
    const caseNumber = await aCase(cs);
    const inv = await anInvoice(cs, caseNumber, { claimAmount: 10_000_000 });
    expect(inv.amount).to.equal(230_000);
    const token = inv.paymentUrl.split('/').pop()!;
    const pressed = await web().post(`/pay/${token}/checkout`).type('form').send({ lang: 'zh' });
    expect(pressed.status, pressed.text).to.equal(303);
    const payment = await knex()('payments').where({ invoice_id: (await knex()('invoices').where({ public_id: inv.id }).first()).id }).first();
    return { caseNumber, inv, token, payment, sessionId: payment.checkout_session_id as string };
  }

  async function refund(paymentId: string, amount: number) {
    const req = await web().post(`/v1/payments/${paymentId}/refunds`).set(auth(clerk)).send({ amount, reasonCode: 'overpayment' });
    expect(req.status, req.text).to.equal(201);
    const ok = await web().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).send({});
    expect(ok.status, ok.text).to.equal(200);
    return req.body.id as string;
  }

  it('when a card is declined, then the attempt is failed in the API (not pending for good); pressing pay again goes back to the same checkout, and paying there settles it once', async () => {
    const { inv, token, sessionId, payment } = await startPaying();
    await sandbox.decline(sessionId);
    await sandbox.flush();
    const afterDecline = await web().get(`/v1/invoices/${inv.id}`).set(auth(cs));
    const declined = afterDecline.body.payments.find((p: { id: string }) => p.id === payment.public_id);
    expect(declined).to.include({ status: 'failed' });
    expect(declined.failureReason).to.match(/card_declined/);
    expect((await knex()('payments').where({ id: payment.id }).first()).status).to.equal('failed');
    expect((await stripe.checkout.sessions.retrieve(sessionId)).status, 'Stripe keeps the session open after a decline').to.equal('open');

    // Back button or a second tab: the pay button sends the payer to that same open session, never to a second one.
    const sessionsOfInvoice = async () => (await knex()('sandbox_objects').where({ type: 'checkout.session' }).whereRaw("data->'metadata'->>'payment_id' in (select public_id from payments where invoice_id = ?)", [payment.invoice_id])).length;
    for (let press = 0; press < 2; press += 1) {
      const again = await web().post(`/pay/${token}/checkout`).type('form').send({ lang: 'zh' });
      expect(again.status).to.equal(303);
      expect(again.headers.location).to.equal(payment.checkout_url);
    }
    expect(await sessionsOfInvoice(), 'one session at the processor').to.equal(1);
    expect(await knex()('payments').where({ invoice_id: payment.invoice_id }).count('* as n')).to.deep.equal([{ n: 1 }]);

    await sandbox.pay(sessionId, { method: 'alipay' });
    await sandbox.flush();
    const done = await web().post(`/pay/${token}/checkout`).type('form').send({ lang: 'zh' });
    expect(done.headers.location, 'paid: the notice, no new session').to.equal(`/pay/${token}?lang=zh`);
    expect(await sessionsOfInvoice()).to.equal(1);
    let payingTwice: Error | null = null;
    await sandbox.pay(sessionId).catch((e: Error) => (payingTwice = e));
    expect(payingTwice, 'a completed session takes no second payment').to.be.an.instanceOf(Error);
    await sandbox.flush();
    expect((await knex()('invoices').where({ id: payment.invoice_id }).first())).to.include({ paid_amount: 230_000, status: 'paid' });
    const row = await knex()('payments').where({ id: payment.id }).first();
    expect(row).to.include({ status: 'succeeded', settled_amount: 230_000, payment_method_type: 'alipay' });
    const paid = await web().get(`/v1/invoices/${inv.id}`).set(auth(cs));
    expect(paid.body).to.include({ status: 'paid', paidAmount: 230_000 });
    expect(paid.body.payments.find((p: { id: string }) => p.id === payment.public_id)).to.include({ status: 'succeeded', paymentMethodType: 'alipay', failureReason: null });

    // As at Stripe: the intent lists every type the session offered; its payment method and its charge say which was used.
    const pi = await stripe.paymentIntents.retrieve(row.payment_intent_id, { expand: ['payment_method'] });
    expect(pi.payment_method_types).to.have.length(3);
    expect((pi.payment_method as Stripe.PaymentMethod).type).to.equal('alipay');
    expect(methodOfIntent(pi)).to.equal('alipay');
    const withCharge = await stripe.paymentIntents.retrieve(row.payment_intent_id, { expand: ['latest_charge'] });
    expect(methodOfIntent(withCharge)).to.equal('alipay');
    expect(methodOfIntent(await stripe.paymentIntents.retrieve(row.payment_intent_id)), 'ids only: left for the charge to tell').to.equal(null);
  });

  it('when the processor shows the payment, then its line item and description name the court and the case number', async () => {
    const { caseNumber, sessionId, payment } = await startPaying();
    const s = await stripe.checkout.sessions.retrieve(sessionId, { expand: ['line_items'] });
    const name = s.line_items!.data[0].description!;
    expect(name).to.include('太原市小店区人民法院').and.include(caseNumber).and.include(payment.public_id);
    await sandbox.pay(sessionId, { method: 'card' });
    await sandbox.flush();
    const pi = await stripe.paymentIntents.retrieve((await stripe.checkout.sessions.retrieve(sessionId)).payment_intent as string, { expand: ['latest_charge'] });
    expect(pi.description).to.include('太原市小店区人民法院').and.include(caseNumber);
    expect((pi.latest_charge as Stripe.Charge).description, 'what the dashboard and statement show of the charge').to.include(caseNumber);
  });

  it('when two refunds of 1,150.00 in all are made on a 2,300.00 fee, then the refunds, the invoice, the case and the receipt all say so', async () => {
    const { caseNumber, inv, token, sessionId, payment } = await startPaying();
    await sandbox.pay(sessionId, { method: 'wechat_pay' });
    await sandbox.flush();
    const first = await refund(payment.public_id, 100_000);
    const second = await refund(payment.public_id, 15_000);
    const pendingReq = await web().post(`/v1/payments/${payment.public_id}/refunds`).set(auth(clerk)).send({ amount: 5_000, reasonCode: 'overpayment' });
    expect(pendingReq.status, pendingReq.text).to.equal(201);
    await sandbox.flush();

    // Each refund: sent and succeeded, with both times, as the database holds them.
    for (const id of [first, second]) {
      const r = (await web().get(`/v1/refunds/${id}`).set(auth(finance))).body;
      const row = await knex()('refunds').where({ public_id: id }).first();
      expect(r.status).to.equal('succeeded');
      expect(r.submittedAt, 'a refund that succeeded was submitted').to.be.a('string');
      expect(new Date(r.submittedAt).getTime()).to.equal(row.submitted_at.getTime());
      expect(new Date(r.submittedAt).getTime()).to.be.at.most(new Date(r.succeededAt).getTime());
    }

    // The invoice lists its refunds, every one the database has.
    const got = (await web().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body;
    const rows = await knex()('refunds').where({ payment_id: payment.id }).orderBy('id');
    expect(got).to.include({ status: 'partially_refunded', paidAmount: 230_000, refundedAmount: 115_000 });
    expect(got.refunds.map((r: { id: string; status: string; amount: number; paymentId: string; submittedAt: string | null }) => [r.id, r.status, r.amount, r.paymentId, r.submittedAt !== null]))
      .to.deep.equal(rows.map((r) => [r.public_id, r.status, r.amount, payment.public_id, r.submitted_at !== null]));
    expect(got.refunds.map((r: { status: string }) => r.status)).to.deep.equal(['succeeded', 'succeeded', 'requested']);

    // The case says what its only invoice says.
    const fees = (await web().get(`/v1/cases/${enc(caseNumber)}/fees`).set(auth(cs))).body;
    expect(fees.invoices.map((i: { status: string }) => i.status)).to.deep.equal(['partially_refunded']);
    expect(fees).to.include({ status: 'partially_refunded' });
    expect(fees.totals).to.deep.include({ paid: 230_000, refunded: 115_000 });

    // The receipt: both refunds with their dates and states, the request awaiting approval, the net, a reference and when it was issued.
    const before = Date.now();
    const receipt = await web().get(`/pay/${token}/receipt`);
    expect(receipt.status).to.equal(200);
    const text = receipt.text;
    for (const id of [first, second, pendingReq.body.id]) expect(text).to.include(id);
    expect(text).to.match(new RegExp(`${first}</td><td data-label="[^"]+">\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}</td><td data-label="[^"]+">微信支付</td><td data-label="[^"]+">成功</td><td class="num amount" data-label="[^"]+">¥1,000\\.00</td>`));
    expect(text).to.match(new RegExp(`${pendingReq.body.id}</td>.*退费申请待审核.*¥50\\.00`));
    expect(text).to.match(/已退合计<\/th><td class="num amount">¥1,150\.00/);
    expect(text).to.match(/实缴合计<\/dt><dd class="amount strong">¥1,150\.00/);
    expect(text).to.include(`<dd class="ref">${inv.id}-01</dd>`);
    const issued = /出具时间（北京时间）<\/dt><dd>(\d{4}-\d{2}-\d{2} \d{2}:\d{2})</.exec(text)![1];
    const beijing = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect([beijing(before), beijing(Date.now())]).to.include(issued);
    expect(text).to.include('微信支付');
  });
});
