import { expect } from 'chai';
import nock from 'nock';
import request from 'supertest';
import { buildApp } from '../../src/http/app';
import { balances } from '../../src/ledger/ledger';
import { aCase, anInvoice, aPayment, api } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, anIntent, aSession, deliver, expectStripeStubsUsed, stripeApi } from '../support/stripe';

const tokenOf = (url: string) => url.split('/pay/')[1];

/**
 * A Stripe call held open: the stub answers only once the test lets it go (or after a safety
 * interval, so the old locking code fails the assertions instead of hanging the run).
 */
function heldCall<T>(answer: () => T) {
  let open = true;
  let arrive!: () => void;
  let letGo!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const gate = new Promise<void>((r) => (letGo = r));
  const safety = setTimeout(() => letGo(), 8000);
  return {
    arrived,
    isOpen: () => open,
    release() {
      open = false;
      clearTimeout(safety);
      letGo();
    },
    async reply(): Promise<T> {
      arrive();
      await gate;
      open = false;
      return answer();
    },
  };
}

/**
 * Connections of this test run (they carry its schema as application_name) sitting in a transaction
 * with nothing to do: what a processor call inside a transaction looks like from the database.
 * Null on PGlite: it has no pg_stat_activity of sessions, and its one connection is the pool — there
 * the webhook being applied during the call shows that no transaction held it.
 */
async function idleInTransaction(): Promise<number | null> {
  if (testEnv().embedded) return null;
  const { rows } = await testEnv().knex.raw(
    `select count(*)::int as n from pg_stat_activity where application_name = current_setting('application_name') and state like 'idle in transaction%'`,
  );
  return rows[0].n;
}

function expectNoTransactionHeld(n: number | null): void {
  if (n === null) return; // PGlite: see idleInTransaction
  expect(n, 'pool connections idle in a transaction while the processor call is open').to.equal(0);
}

const settlementsOf = async (paymentId: number) =>
  Number((await testEnv().knex('ledger_transactions').where({ payment_id: paymentId, kind: 'payment_settled' }).count('* as n'))[0].n);
const paymentsOf = async (invoicePublicId: string) =>
  testEnv().knex('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', invoicePublicId).orderBy('payments.id').select('payments.*');

describe('the processor is called with no row locks held', () => {
  let cs: string;
  before(async () => {
    cs = await keyFor('case_system');
  });
  afterEach(expectStripeStubsUsed);

  it('when the pay button replaces a session and Stripe holds the expire call, then a webhook paying that session is applied meanwhile, no connection waits in a transaction, and no second session is made', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const first = aSession({ amount_total: inv.amount });
    stripeApi().post('/v1/checkout/sessions').reply(200, first);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    const [payment] = await paymentsOf(inv.id);
    await testEnv().knex('payments').where({ id: payment.id }).update({ expires_at: new Date(Date.now() + 60_000) }); // too close to its end to hand out again

    const expire = heldCall(() => [400, { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status of open can be expired.' } }]);
    stripeApi().post(`/v1/checkout/sessions/${first.id}/expire`).reply(() => expire.reply() as never);
    const pi = anIntent({ status: 'succeeded', amount: inv.amount, amount_received: inv.amount, metadata: { payment_id: payment.public_id } });
    stripeApi().get(`/v1/checkout/sessions/${first.id}`).query(true).reply(200, { ...first, status: 'complete', payment_status: 'paid', payment_intent: pi });

    const click = api().post(`/pay/${token}/checkout`).type('form').send({}).then((r) => r);
    await expire.arrived;
    const idle = await idleInTransaction();
    const paid = await deliver(anEvent('checkout.session.completed', { ...first, status: 'complete', payment_status: 'paid', payment_intent: pi.id, metadata: { payment_id: payment.public_id } }));
    const heldThroughout = expire.isOpen();
    expire.release();
    const res = await click;

    expect(paid.status, paid.text).to.equal(200);
    expect(paid.body).to.include({ duplicate: false, status: 'processed', note: 'payment succeeded' });
    expect(heldThroughout, 'the webhook was answered while the expire call was still open').to.equal(true);
    expectNoTransactionHeld(idle);
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(`/pay/${token}?lang=zh`);
    expect((await paymentsOf(inv.id)).map((p) => p.status), 'one attempt, settled once; no second session').to.deep.equal(['succeeded']);
    expect(await settlementsOf(payment.id)).to.equal(1);
    expect(await testEnv().knex('invoices').where({ public_id: inv.id }).first()).to.include({ status: 'paid', paid_amount: inv.amount });
  });

  it('when a dispute arrives ahead of the payment’s success and Stripe holds the lookup, then the success event is applied meanwhile and the dispute after it, each once', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const payment = await aPayment(inv.id, { settle: false });
    const pi = anIntent({ id: payment.payment_intent_id, status: 'succeeded', amount: payment.amount, amount_received: payment.amount, latest_charge: `ch_held_${payment.id}`, metadata: { payment_id: payment.public_id } });
    const lookup = heldCall(() => [200, pi]);
    stripeApi().get(`/v1/payment_intents/${pi.id}`).reply(() => lookup.reply() as never);
    const dispute = anEvent('charge.dispute.created', { id: `dp_held_${payment.id}`, object: 'dispute', amount: payment.amount, currency: 'cny', charge: null, payment_intent: pi.id, status: 'needs_response', reason: 'fraudulent' });

    const disputed = deliver(dispute).then((r) => r);
    await lookup.arrived;
    const idle = await idleInTransaction();
    const succeeded = await deliver(anEvent('payment_intent.succeeded', pi));
    const heldThroughout = lookup.isOpen();
    lookup.release();
    const res = await disputed;

    expect(succeeded.status, succeeded.text).to.equal(200);
    expect(succeeded.body).to.include({ duplicate: false, note: 'payment succeeded' });
    expect(heldThroughout, 'the success event was answered while the lookup was still open').to.equal(true);
    expectNoTransactionHeld(idle);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ duplicate: false, status: 'processed' });
    expect(await testEnv().knex('processor_events').where({ event_id: dispute.id }).first()).to.include({ status: 'processed', attempts: 1 });
    expect(await testEnv().knex('payments').where({ id: payment.id }).first()).to.include({ status: 'disputed', dispute_status: 'open', settled_amount: payment.amount });
    expect(await settlementsOf(payment.id)).to.equal(1);
    expect(await balances(testEnv().knex, { invoiceId: payment.invoice_id })).to.include({ disputed_funds: payment.amount, processor_clearing: 0, fee_income: -payment.amount });
  });

  it('when two tabs press pay at once while the old session is being replaced, then there is one new attempt with one session, and both tabs are sent to it', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const first = aSession();
    stripeApi().post('/v1/checkout/sessions').reply(200, first);
    await api().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);
    const [old] = await paymentsOf(inv.id);
    await testEnv().knex('payments').where({ id: old.id }).update({ expires_at: new Date(Date.now() + 60_000) });

    const second = aSession();
    const expireKeys: string[] = [];
    const createKeys: string[] = [];
    stripeApi().post(`/v1/checkout/sessions/${first.id}/expire`).times(2).optionally().reply(function () {
      expireKeys.push(String(this.req.headers['idempotency-key']));
      return [200, { ...first, status: 'expired' }];
    });
    stripeApi().post('/v1/checkout/sessions').times(2).optionally().reply(function () {
      createKeys.push(String(this.req.headers['idempotency-key']));
      return [200, second];
    });
    const [a, b] = await Promise.all([0, 1].map(() => api().post(`/pay/${token}/checkout`).type('form').send({}).then((r) => r)));

    expect([a.status, b.status]).to.deep.equal([303, 303]);
    expect([a.headers.location, b.headers.location]).to.deep.equal([second.url, second.url]);
    const rows = await paymentsOf(inv.id);
    expect(rows.map((p) => [p.status, p.checkout_session_id])).to.deep.equal([['expired', first.id], ['pending', second.id]]);
    expect(expireKeys.length).to.be.at.least(1);
    expect(new Set(expireKeys)).to.deep.equal(new Set([`courtpay-expire-${old.public_id}`]));
    expect(createKeys.length).to.be.at.least(1);
    expect(new Set(createKeys), 'every request for the new session carries the new attempt’s key').to.deep.equal(new Set([`courtpay-checkout-${rows[1].public_id}`]));
  });
});

describe('a litigant’s page never waits long on the processor', () => {
  let cs: string;
  const PAGE_TIMEOUT_MS = 300;
  const STRIPE_DELAY_MS = 5000;
  /** The service with a short page timeout, on the run's database and processor. */
  const pages = () => {
    const { knex, config, authenticator, processor } = testEnv();
    return request(buildApp({ knex, authenticator, processor, config: { ...config, stripe: { ...config.stripe, pageTimeoutMs: PAGE_TIMEOUT_MS } } }));
  };
  before(async () => {
    cs = await keyFor('case_system');
  });
  afterEach(() => nock.cleanAll());

  it('when Stripe answers slower than the page’s timeout, then the return page answers 200 "processing" in either language with a way to check again, having asked Stripe once each time, and the payment stays pending', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const session = aSession({ amount_total: inv.amount });
    stripeApi().post('/v1/checkout/sessions').reply(200, session);
    await pages().post(`/pay/${token}/checkout`).type('form').send({}).expect(303);

    let asked = 0;
    const slow = stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).times(6).delay(STRIPE_DELAY_MS).reply(200, { ...session, status: 'complete', payment_status: 'paid' });
    slow.on('request', () => (asked += 1));
    for (const [lang, heading, again] of [['zh', '正在确认您的付款', '重新查询付款结果'], ['en', 'We are confirming your payment', 'Check the result again']]) {
      const before = asked;
      const started = Date.now();
      const res = await pages().get(`/pay/${token}/return?lang=${lang}`);
      const took = Date.now() - started;
      expect(res.status, res.text).to.equal(200);
      expect(took, 'answered before the processor did').to.be.below(STRIPE_DELAY_MS);
      expect(res.text).to.include(heading).and.include(again).and.include(`href="/pay/${token}/return?lang=${lang}"`);
      expect(res.text).to.include('<meta http-equiv="refresh" content="5">');
      expect(asked - before, 'one request to Stripe, not retried').to.equal(1);
    }
    const [payment] = await paymentsOf(inv.id);
    expect(payment).to.include({ status: 'pending', checkout_session_id: session.id });
  });

  it('when Stripe answers the pay button slower than the page’s timeout, then the friendly page answers without retrying, and the next click makes the same session with the same payment and key', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const keys: string[] = [];
    const session = aSession();
    const slow = stripeApi().post('/v1/checkout/sessions').times(3).delay(STRIPE_DELAY_MS).reply(200, session);
    slow.on('request', (req) => keys.push(String(req.headers['idempotency-key'])));
    const started = Date.now();
    const res = await pages().post(`/pay/${token}/checkout`).type('form').send({});
    expect(Date.now() - started, 'answered before the processor did').to.be.below(STRIPE_DELAY_MS);
    expect(res.status).to.equal(503);
    expect(res.text).to.include('几分钟后再试').and.include('您没有被扣款');
    expect(keys, 'one request to Stripe, not retried').to.have.length(1);
    nock.cleanAll();

    stripeApi().post('/v1/checkout/sessions').reply(function () {
      keys.push(String(this.req.headers['idempotency-key']));
      return [200, session];
    });
    const again = await pages().post(`/pay/${token}/checkout`).type('form').send({});
    expect(again.headers.location).to.equal(session.url);
    expect(keys[1]).to.equal(keys[0]);
    expect(await paymentsOf(inv.id)).to.have.length(1);
  });
});
