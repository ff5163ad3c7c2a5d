import { expect } from 'chai';
import nock from 'nock';
import { sweepPendingPayments } from '../../src/payments/sweep';
import { aCase, anInvoice, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, anIntent, aSession, deliver, formBody, stripeApi, expectStripeStubsUsed } from '../support/stripe';

const tokenOf = (url: string) => url.split('/pay/')[1];

describe('litigant pays online', () => {
  let cs: string;
  before(async () => {
    cs = await keyFor('case_system');
  });
  afterEach(expectStripeStubsUsed);

  it('when a litigant pays from the notice, then the session is made right, the webhook settles it once, and every view agrees', async () => {
    const caseNumber = await aCase(cs);
    const inv = await anInvoice(cs, caseNumber, { claimAmount: 5_000_000 });
    const token = tokenOf(inv.paymentUrl);

    const notice = await api().get(`/pay/${token}`);
    expect(notice.status).to.equal(200);
    expect(notice.headers['content-type']).to.match(/text\/html/);
    expect(notice.text).to.include('1,050.00').and.include(`action="/pay/${token}/checkout"`).and.include(caseNumber.replace('(', '(')).and.include('王五');

    let sent: Record<string, string> = {};
    let idempotencyKey = '';
    const session = aSession({ amount_total: 105000 });
    stripeApi()
      .post('/v1/checkout/sessions', (b) => ((sent = formBody(b)), true))
      .reply(function () {
        idempotencyKey = String(this.req.headers['idempotency-key']);
        return [200, session];
      });
    const go = await api().post(`/pay/${token}/checkout`).type('form').send({ lang: 'en' });
    expect(go.status).to.equal(303);
    expect(go.headers.location).to.equal(session.url);
    const payment = await testEnv().knex('payments').where({ checkout_session_id: session.id }).first();
    expect(payment).to.include({ amount: 105000, status: 'pending', processor: 'stripe' });
    expect(idempotencyKey).to.equal(`courtpay-checkout-${payment.public_id}`);
    expect(sent).to.include({
      mode: 'payment',
      client_reference_id: payment.public_id,
      'metadata[payment_id]': payment.public_id,
      'payment_intent_data[metadata][payment_id]': payment.public_id,
      'line_items[0][price_data][currency]': 'cny',
      'line_items[0][price_data][unit_amount]': '105000',
      'line_items[0][quantity]': '1',
      success_url: `https://pay.courts.example/pay/${token}/return?lang=en`,
      expires_at: String(Math.floor(payment.expires_at.getTime() / 1000)),
      locale: 'en',
    });
    expect(Object.entries(sent).filter(([k]) => k.startsWith('allowed_payment_method_types')).map(([, v]) => v)).to.deep.equal(['card', 'alipay', 'wechat_pay']);

    const again = await api().post(`/pay/${token}/checkout`).type('form').send({});
    expect(again.headers.location, 'the open session is reused, Stripe not called').to.equal(session.url);

    const pi = anIntent({ status: 'succeeded', amount: 105000, amount_received: 105000, latest_charge: 'ch_paid_1', metadata: { payment_id: payment.public_id } });
    await deliver(anEvent('checkout.session.completed', { ...session, status: 'complete', payment_status: 'paid', payment_intent: pi.id, metadata: { payment_id: payment.public_id } })).expect(200);
    await deliver(anEvent('payment_intent.succeeded', pi)).expect(200);

    const after = await api().get(`/v1/invoices/${inv.id}`).set(auth(cs));
    expect(after.body).to.include({ status: 'paid', paidAmount: 105000, outstanding: 0 });
    expect(after.body.payments).to.have.length(1);
    expect(after.body.payments[0]).to.include({ id: payment.public_id, status: 'succeeded', settledAmount: 105000, paymentIntentId: pi.id, chargeId: 'ch_paid_1' });
    const fees = await api().get(`/v1/cases/${enc(caseNumber)}/fees`).set(auth(cs));
    expect(fees.body).to.deep.include({ status: 'paid', totals: { due: 105000, paid: 105000, refunded: 0, outstanding: 0 } });
    expect(fees.body.invoices[0].payments[0]).to.include({ id: payment.public_id, amount: 105000, status: 'succeeded' });
    const one = await api().get(`/v1/payments/${payment.public_id}`).set(auth(await keyFor('finance', ['1411'])));
    expect(one.body).to.include({ id: payment.public_id, invoiceId: inv.id, caseNumber, status: 'succeeded' });

    const back = await api().get(`/pay/${token}/return?lang=en&redirect_status=failed`);
    expect(back.text).to.match(/paid/i);
    const receipt = await api().get(`/pay/${token}/receipt`);
    expect(receipt.text).to.include(payment.public_id).and.include('1,050.00');
    const paidNotice = await api().get(`/pay/${token}`);
    expect(paidNotice.text).not.to.include('/checkout"');
    const books = await testEnv().knex('ledger_entries').where({ invoice_id: payment.invoice_id }).orderBy('id');
    expect(books.map((e) => [e.account, e.amount])).to.deep.equal([['processor_clearing', 105000], ['fee_income', -105000]]);
  });

  it('when the fee is more than one charge can be, then it is paid in parts of at most 999,999.99 yuan from the same link, and the invoice is paid after the last', async () => {
    // Claim 500,000,000 yuan: 141,800 + 0.5% of the 480,000,000 over 20,000,000 = 2,541,800.00 yuan.
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 50_000_000_000 });
    expect(inv.amount).to.equal(254_180_000);
    const token = tokenOf(inv.paymentUrl);
    const asked: number[] = [];
    for (const [i, part] of [99_999_999, 99_999_999, 54_180_002].entries()) {
      const notice = await api().get(`/pay/${token}`);
      expect(notice.text).to.include(`立即缴费 ${part === 99_999_999 ? '¥999,999.99' : '¥541,800.02'}`);
      expect(notice.text.includes('单笔线上支付最多'), `part ${i + 1}: says more parts follow`).to.equal(i < 2);
      const session = aSession({ amount_total: part });
      let sent: Record<string, string> = {};
      stripeApi().post('/v1/checkout/sessions', (b) => ((sent = formBody(b)), true)).reply(200, session);
      await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
      asked.push(Number(sent['line_items[0][price_data][unit_amount]']));
      const payment = await testEnv().knex('payments').where({ checkout_session_id: session.id }).first();
      expect(payment.amount).to.equal(part);
      await deliver(anEvent('checkout.session.completed', { ...session, status: 'complete', payment_status: 'paid', payment_intent: `pi_part_${payment.id}`, metadata: { payment_id: payment.public_id } })).expect(200);
      const now = await api().get(`/v1/invoices/${inv.id}`).set(auth(cs));
      expect(now.body).to.include({ status: i < 2 ? 'partially_paid' : 'paid', paidAmount: asked.reduce((a, b) => a + b, 0) });
    }
    expect(asked).to.deep.equal([99_999_999, 99_999_999, 54_180_002]);
    expect((await api().get(`/pay/${token}`)).text).not.to.include('/checkout"');
  });

  it('when the payer comes back after paying the first part of a large fee, then the return page thanks them for it, not "not completed"', async () => {
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 50_000_000_000 });
    const token = tokenOf(inv.paymentUrl);
    const session = aSession({ amount_total: 99_999_999 });
    stripeApi().post('/v1/checkout/sessions').reply(200, session);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    const payment = await testEnv().knex('payments').where({ checkout_session_id: session.id }).first();
    await deliver(anEvent('checkout.session.completed', { ...session, status: 'complete', payment_status: 'paid', payment_intent: `pi_part_${payment.id}`, metadata: { payment_id: payment.public_id } })).expect(200);
    const back = await api().get(`/pay/${token}/return?lang=en`);
    expect(back.status).to.equal(200);
    expect(back.text).to.include('Payment received').and.include('¥999,999.99').and.not.match(/not completed/i);
    expect((await testEnv().knex('invoices').where({ public_id: inv.id }).first()).status).to.equal('partially_paid');
  });

  it('when the open session can no longer be used, then it is expired at Stripe before a new one is made', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const first = aSession();
    stripeApi().post('/v1/checkout/sessions').reply(200, first);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    await testEnv().knex('payments').where({ checkout_session_id: first.id }).update({ expires_at: new Date(Date.now() + 60_000) });
    const second = aSession();
    stripeApi().post(`/v1/checkout/sessions/${first.id}/expire`).reply(200, { ...first, status: 'expired' });
    stripeApi().post('/v1/checkout/sessions').reply(200, second);
    const res = await api().post(`/pay/${token}/checkout`).type('form').send({});
    expect(res.headers.location).to.equal(second.url);
    const rows = await testEnv().knex('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', inv.id).orderBy('payments.id').select('payments.status', 'payments.checkout_session_id');
    expect(rows).to.deep.equal([{ status: 'expired', checkout_session_id: first.id }, { status: 'pending', checkout_session_id: second.id }]);
  });

  it('when the old session turns out to have been paid, then it is settled and no second session is made', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const first = aSession({ amount_total: inv.amount });
    stripeApi().post('/v1/checkout/sessions').reply(200, first);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    const payment = await testEnv().knex('payments').where({ checkout_session_id: first.id }).first();
    await testEnv().knex('payments').where({ id: payment.id }).update({ expires_at: new Date(Date.now() + 30_000) });
    stripeApi().post(`/v1/checkout/sessions/${first.id}/expire`).reply(400, { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status of open can be expired.' } });
    const pi = anIntent({ status: 'succeeded', amount: inv.amount, amount_received: inv.amount, metadata: { payment_id: payment.public_id } });
    stripeApi().get(`/v1/checkout/sessions/${first.id}`).query(true).reply(200, { ...first, status: 'complete', payment_status: 'paid', payment_intent: pi });
    const res = await api().post(`/pay/${token}/checkout`).type('form').send({});
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(`/pay/${token}?lang=zh`);
    expect(await testEnv().knex('payments').where({ id: payment.id }).first()).to.include({ status: 'succeeded', payment_intent_id: pi.id });
    expect((await testEnv().knex('invoices').where({ public_id: inv.id }).first()).status).to.equal('paid');
  });

  it('when Stripe is down, then the litigant gets a friendly 503 page, and the next click reuses the same payment and idempotency key', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const keys: string[] = [];
    stripeApi().post('/v1/checkout/sessions').reply(function () {
      keys.push(String(this.req.headers['idempotency-key']));
      return [500, { error: { type: 'api_error', message: 'boom' } }];
    });
    const down = await api().post(`/pay/${token}/checkout`).type('form').send({});
    expect(down.status).to.equal(503);
    expect(down.text).to.include('几分钟后再试').and.not.include('boom');
    const session = aSession();
    stripeApi().post('/v1/checkout/sessions').reply(function () {
      keys.push(String(this.req.headers['idempotency-key']));
      return [200, session];
    });
    const up = await api().post(`/pay/${token}/checkout`).type('form').send({});
    expect(up.headers.location).to.equal(session.url);
    expect(keys[0]).to.equal(keys[1]);
    expect(await testEnv().knex('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', inv.id).count('* as n')).to.deep.equal([{ n: 1 }]);
  });

  it('when the payer comes back without paying, then the return page asks Stripe and says not completed', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const session = aSession();
    stripeApi().post('/v1/checkout/sessions').reply(200, session);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).reply(200, session);
    const back = await api().get(`/pay/${token}/return?lang=en&status=paid`);
    expect(back.status).to.equal(200);
    expect(back.text).to.match(/not completed/i);
  });

  it('when the link is unknown, then a 404 page in words; when the invoice is cancelled, then no pay button', async () => {
    const unknown = await api().get('/pay/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.status).to.equal(404);
    expect(unknown.headers['content-type']).to.match(/text\/html/);
    const inv = await anInvoice(cs, await aCase(cs));
    await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(cs)).expect(200);
    const page = await api().get(`/pay/${tokenOf(inv.paymentUrl)}`);
    expect(page.status).to.equal(200);
    expect(page.text).not.to.include('/checkout"');
    const post = await api().post(`/pay/${tokenOf(inv.paymentUrl)}/checkout`).type('form').send({});
    expect(post.status).to.equal(303);
    expect(await testEnv().knex('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', inv.id).count('* as n')).to.deep.equal([{ n: 0 }]);
  });
});

describe('sweep for what webhooks missed', () => {
  let cs: string;
  before(async () => {
    cs = await keyFor('case_system');
  });
  afterEach(expectStripeStubsUsed);

  async function agedPendingPayment(session: ReturnType<typeof aSession>) {
    const inv = await anInvoice(cs, await aCase(cs));
    const [p] = await testEnv().knex('payments').insert({
      public_id: `pay_sweep${Date.now()}${Math.floor(Math.random() * 1e6)}`, invoice_id: (await testEnv().knex('invoices').where({ public_id: inv.id }).first()).id,
      court_code: '1411', amount: inv.amount, processor: 'stripe', checkout_session_id: session.id, checkout_url: session.url,
      expires_at: new Date(Date.now() - 60_000), created_at: new Date(Date.now() - 3600_000),
    }).returning('*');
    return p;
  }

  it('when a payment_intent.succeeded was missed, then the sweep settles the payment through the same path', async () => {
    const session = aSession();
    const p = await agedPendingPayment(session);
    const pi = anIntent({ status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: 'ch_swept', metadata: { payment_id: p.public_id } });
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query({ 'expand[0]': 'payment_intent' }).reply(200, { ...session, amount_total: p.amount, status: 'complete', payment_status: 'paid', payment_intent: pi });
    const report = await sweepPendingPayments(testEnv().knex, testEnv().config, testEnv().processor, 15);
    expect(report.settled).to.be.at.least(1);
    expect(await testEnv().knex('payments').where({ id: p.id }).first()).to.include({ status: 'succeeded', payment_intent_id: pi.id, charge_id: 'ch_swept' });
    expect((await testEnv().knex('invoices').where({ id: p.invoice_id }).first()).paid_amount).to.equal(p.amount);
    const audit = await testEnv().knex('audit_events').where({ entity_id: p.public_id, action: 'payment.succeeded' }).first();
    expect(audit).to.include({ actor_type: 'processor', actor_id: 'sweep' });
  });

  it('when a session is past its expiry but still open at Stripe, then the sweep expires it and the payment is expired', async () => {
    const session = aSession({ expires_at: Math.floor(Date.now() / 1000) - 60 });
    const p = await agedPendingPayment(session);
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).reply(200, session);
    stripeApi().post(`/v1/checkout/sessions/${session.id}/expire`).reply(200, { ...session, status: 'expired' });
    await sweepPendingPayments(testEnv().knex, testEnv().config, testEnv().processor, 15);
    expect((await testEnv().knex('payments').where({ id: p.id }).first()).status).to.equal('expired');
  });

  it('when Stripe cannot be reached, then the payment stays pending (never guessed) and the sweep reports the error', async () => {
    const session = aSession();
    const p = await agedPendingPayment(session);
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).replyWithError('socket hang up');
    const report = await sweepPendingPayments(testEnv().knex, testEnv().config, testEnv().processor, 15);
    expect(report.errors).to.be.at.least(1);
    expect((await testEnv().knex('payments').where({ id: p.id }).first()).status).to.equal('pending');
    nock.cleanAll();
    await testEnv().knex('payments').where({ id: p.id }).update({ status: 'expired' }); // keep later sweeps in this run quiet
  });
});
