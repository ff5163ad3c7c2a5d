import { expect } from 'chai';
import { aCase, anInvoice, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, anIntent, aSession, deliver, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

/**
 * Stripe keeps a Checkout Session open after a declined card, and the payer may try again on it.
 * The pay button must treat that declined attempt like a pending one — reuse its session, or end
 * it at Stripe before another — so an invoice never has two sessions open that could both be paid.
 */
describe('pay button after a declined card', () => {
  let cs: string;
  before(async () => {
    cs = await keyFor('case_system');
  });
  afterEach(expectStripeStubsUsed);

  const knex = () => testEnv().knex;
  const tokenOf = (url: string) => url.split('/pay/')[1];
  const press = (token: string) => api().post(`/pay/${token}/checkout`).type('form').send({ lang: 'en' });
  const attemptsOf = async (invoicePublicId: string) =>
    knex()('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', invoicePublicId).orderBy('payments.id')
      .select('payments.id', 'payments.public_id', 'payments.amount', 'payments.status', 'payments.checkout_session_id', 'payments.checkout_closed_at');

  /** An invoice, the first press of its pay button (Stripe makes the session once) and a declined card on that session. */
  async function declinedOnce() {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const session = aSession({ amount_total: inv.amount });
    let creates = 0;
    stripeApi().post('/v1/checkout/sessions').reply(() => ((creates += 1), [200, session]));
    const first = await press(token);
    expect(first.headers.location).to.equal(session.url);
    const [payment] = await attemptsOf(inv.id);
    const pi = anIntent({ amount: inv.amount, metadata: { payment_id: payment.public_id }, last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' } as never });
    expect((await deliver(anEvent('payment_intent.payment_failed', pi))).body.status).to.equal('processed');
    expect((await knex()('payments').where({ id: payment.id }).first()).status).to.equal('failed');
    return { inv, token, session, payment, pi, creates: () => creates };
  }

  it('when a card was declined and the payer presses pay again, then they are sent back to the same open session, no second session is made, and paying it settles the invoice once', async () => {
    const { inv, token, session, payment, pi, creates } = await declinedOnce();
    // Two tabs, or the back button: every press after the decline goes to the one open session.
    for (const again of [await press(token), await press(token)]) {
      expect(again.status).to.equal(303);
      expect(again.headers.location).to.equal(session.url);
    }
    expect(creates(), 'POST /v1/checkout/sessions called once').to.equal(1);
    expect((await attemptsOf(inv.id)).map((a) => [a.public_id, a.status, a.checkout_session_id])).to.deep.equal([[payment.public_id, 'failed', session.id]]);

    const paid = { ...pi, status: 'succeeded', amount_received: inv.amount, latest_charge: 'ch_retry_ok', last_payment_error: null };
    await deliver(anEvent('checkout.session.completed', { ...session, status: 'complete', payment_status: 'paid', payment_intent: pi.id, metadata: { payment_id: payment.public_id } })).expect(200);
    await deliver(anEvent('payment_intent.succeeded', paid)).expect(200);
    const after = (await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body;
    expect(after).to.include({ status: 'paid', paidAmount: inv.amount, outstanding: 0 });
    expect(after.payments.map((p: { id: string; status: string }) => [p.id, p.status])).to.deep.equal([[payment.public_id, 'succeeded']]);
    const paidAgain = await press(token);
    expect(paidAgain.headers.location, 'nothing left to pay: back to the notice').to.equal(`/pay/${token}?lang=en`);
    expect(creates()).to.equal(1);
  });

  it('when the amount owed changed after a decline, then the declined session is expired at Stripe before a new one is made, and it is never picked again', async () => {
    const { inv, token, session, payment } = await declinedOnce();
    const reduced = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'reduction', decisionRef: '(2026)晋0105司救7号', decidedBy: '张法官', decidedAt: '2026-11-20', reductionPercent: 50 });
    expect(reduced.status, reduced.text).to.equal(200);
    const owed = (await api().get(`/v1/invoices/${inv.id}`).set(auth(cs))).body.outstanding as number;
    expect(owed).to.be.below(inv.amount);

    const calls: string[] = [];
    const second = aSession({ amount_total: owed });
    let asked: Record<string, string> = {};
    stripeApi().post(`/v1/checkout/sessions/${session.id}/expire`).reply(() => (calls.push('expire'), [200, { ...session, status: 'expired' }]));
    stripeApi().post('/v1/checkout/sessions', (b) => ((asked = formBody(b)), true)).reply(() => (calls.push('create'), [200, second]));
    const res = await press(token);
    expect(res.headers.location).to.equal(second.url);
    expect(calls).to.deep.equal(['expire', 'create']);
    expect(asked['line_items[0][price_data][unit_amount]']).to.equal(String(owed));
    const rows = await attemptsOf(inv.id);
    expect(rows.map((a) => [a.public_id === payment.public_id, a.status, a.checkout_session_id, a.amount])).to.deep.equal([[true, 'failed', session.id, inv.amount], [false, 'pending', second.id, owed]]);
    expect(rows[0].checkout_closed_at, 'the retired attempt records its session closed').to.be.an.instanceOf(Date);
    expect(rows[1].checkout_closed_at).to.equal(null);

    // The next press reuses the new session: the retired declined one is not expired (or reused) again.
    const again = await press(token);
    expect(again.headers.location).to.equal(second.url);
    expect(calls).to.deep.equal(['expire', 'create']);
    expect(await attemptsOf(inv.id)).to.have.length(2);
  });

  it('when the declined session has already expired at Stripe (expire refused), then it is looked up once, recorded closed, and one new session is made', async () => {
    const { inv, token, session, payment } = await declinedOnce();
    await knex()('payments').where({ id: payment.id }).update({ expires_at: new Date(Date.now() + 30_000) }); // too near its end to hand out
    const calls: string[] = [];
    const second = aSession({ amount_total: inv.amount });
    stripeApi().post(`/v1/checkout/sessions/${session.id}/expire`).reply(() => (calls.push('expire'), [400, { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status of open can be expired.' } }]));
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).reply(() => (calls.push('retrieve'), [200, { ...session, status: 'expired' }]));
    stripeApi().post('/v1/checkout/sessions').reply(() => (calls.push('create'), [200, second]));
    const res = await press(token);
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(second.url);
    expect(calls).to.deep.equal(['expire', 'retrieve', 'create']);
    const rows = await attemptsOf(inv.id);
    expect(rows.map((a) => [a.status, a.checkout_session_id])).to.deep.equal([['failed', session.id], ['pending', second.id]]);
    expect(rows[0].checkout_closed_at).to.be.an.instanceOf(Date);
  });

  it('when the declined session is found paid while being retired, then it is settled and no new session is made', async () => {
    const { inv, token, session, payment, pi } = await declinedOnce();
    await knex()('payments').where({ id: payment.id }).update({ expires_at: new Date(Date.now() + 30_000) });
    stripeApi().post(`/v1/checkout/sessions/${session.id}/expire`).reply(400, { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status of open can be expired.' } });
    const paid = { ...pi, status: 'succeeded', amount_received: inv.amount, latest_charge: 'ch_paid_before_retire', last_payment_error: null };
    stripeApi().get(`/v1/checkout/sessions/${session.id}`).query(true).reply(200, { ...session, status: 'complete', payment_status: 'paid', payment_intent: paid, metadata: { payment_id: payment.public_id } });
    const res = await press(token);
    expect(res.headers.location).to.equal(`/pay/${token}?lang=en`);
    expect((await attemptsOf(inv.id)).map((a) => a.status)).to.deep.equal(['succeeded']);
    expect((await knex()('invoices').where({ public_id: inv.id }).first())).to.include({ status: 'paid', paid_amount: inv.amount });
  });

  it('when a session was completed by an asynchronous payment that then failed, then pressing pay neither reuses nor expires it, and makes one new session', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const token = tokenOf(inv.paymentUrl);
    const first = aSession({ amount_total: inv.amount, payment_method_types: ['alipay'] });
    stripeApi().post('/v1/checkout/sessions').reply(200, first);
    await press(token).expect(303);
    const [payment] = await attemptsOf(inv.id);
    const meta = { payment_id: payment.public_id };
    const completed = { ...first, status: 'complete', payment_status: 'unpaid', payment_intent: `pi_async_${payment.id}`, metadata: meta };
    await deliver(anEvent('checkout.session.completed', completed)).expect(200);
    expect((await knex()('payments').where({ id: payment.id }).first()).checkout_closed_at, 'still settling: not closed').to.equal(null);
    await deliver(anEvent('checkout.session.async_payment_failed', completed)).expect(200);
    const failed = await knex()('payments').where({ id: payment.id }).first();
    expect(failed).to.include({ status: 'failed', failure_reason: 'asynchronous payment failed' });
    expect(failed.checkout_closed_at).to.be.an.instanceOf(Date);

    // Only a create is stubbed: an expire or a lookup of the completed session would find no stub and fail the press.
    const second = aSession({ amount_total: inv.amount });
    let creates = 0;
    stripeApi().post('/v1/checkout/sessions').reply(() => ((creates += 1), [200, second]));
    const res = await press(token);
    expect(res.headers.location).to.equal(second.url);
    expect(creates).to.equal(1);
    expect((await attemptsOf(inv.id)).map((a) => [a.status, a.checkout_session_id])).to.deep.equal([['failed', first.id], ['pending', second.id]]);
  });

  it('when a declined attempt from before this change is still open beside a newer pending one, then the declined one is expired at Stripe first', async () => {
    const { inv, token, session, payment } = await declinedOnce();
    const newer = aSession({ amount_total: inv.amount });
    // As the pay button did before: a new pending attempt beside the declined one, its session open too.
    const [row] = await knex()('payments').insert({
      public_id: `pay_legacy${Date.now()}${Math.floor(Math.random() * 1e6)}`, invoice_id: (await knex()('invoices').where({ public_id: inv.id }).first()).id,
      court_code: '1411', amount: inv.amount, processor: 'stripe', checkout_session_id: newer.id, checkout_url: newer.url, expires_at: new Date(Date.now() + 3600_000),
    }).returning('*');
    const calls: string[] = [];
    stripeApi().post(`/v1/checkout/sessions/${session.id}/expire`).reply(() => (calls.push('expire'), [200, { ...session, status: 'expired' }]));
    const res = await press(token);
    expect(res.headers.location).to.equal(newer.url);
    expect(calls).to.deep.equal(['expire']);
    expect((await attemptsOf(inv.id)).map((a) => [a.id === row.id, a.status, a.checkout_closed_at === null])).to.deep.equal([[false, 'failed', false], [true, 'pending', true]]);
  });
});
