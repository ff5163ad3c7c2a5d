import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import express from 'express';
import Stripe from 'stripe';
import request from 'supertest';
import { sandboxStripeSecretKey, startSandbox, type Sandbox } from '../../src/sandbox';
import { testEnv } from '../support/env';

const SECRET = 'whsec_sandbox_test_secret';
const nowSec = () => Math.floor(Date.now() / 1000);
type Obj = Record<string, any>;

/** A webhook endpoint that verifies every delivery like the service does, and records it. */
class Receiver {
  events: Stripe.Event[] = [];
  rejected = 0;
  failNext = 0;
  server!: Server;
  async start(): Promise<string> {
    const app = express();
    app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), (req, res) => {
      if (this.failNext > 0) {
        this.failNext -= 1;
        return void res.status(503).end();
      }
      try {
        this.events.push(Stripe.webhooks.constructEvent(req.body as Buffer, String(req.headers['stripe-signature']), SECRET));
        res.json({ received: true });
      } catch {
        this.rejected += 1;
        res.status(400).end();
      }
    });
    this.server = app.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
  }
  /** Events about one payment (its intent, charge, session) in delivery order. */
  about(pi: string, session?: string): string[] {
    return this.events
      .filter((e) => {
        const o = e.data.object as Obj;
        return o.id === pi || o.payment_intent === pi || (session && o.id === session);
      })
      .map((e) => e.type);
  }
}

describe('sandbox payment processor', () => {
  const receiver = new Receiver();
  let sandbox: Sandbox;
  let stripe: Stripe;
  let pages: express.Express;
  let seq = 0;

  const params = (o: Partial<Stripe.Checkout.SessionCreateParams> = {}): Stripe.Checkout.SessionCreateParams => {
    seq += 1;
    return {
      mode: 'payment',
      line_items: [{ price_data: { currency: 'CNY', unit_amount: 123456, product_data: { name: '案件受理费 Acceptance fee' } }, quantity: 1 }],
      client_reference_id: `inv_${seq}`,
      metadata: { payment_id: `pay_${seq}` },
      payment_intent_data: { metadata: { payment_id: `pay_${seq}`, court: '1411' } },
      success_url: 'https://pay.courts.example/pay/tok/done?session={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://pay.courts.example/pay/tok',
      expires_at: nowSec() + 3600,
      allowed_payment_method_types: ['card', 'alipay', 'wechat_pay'],
      payment_method_options: { wechat_pay: { client: 'web' } },
      customer_email: 'party@example.cn',
      locale: 'zh',
      ...o,
    };
  };
  const paidSession = async (amount = 10_000) => {
    const s = await stripe.checkout.sessions.create(params({ line_items: [{ price_data: { currency: 'cny', unit_amount: amount, product_data: { name: 'fee' } }, quantity: 1 }] }));
    await sandbox.pay(s.id);
    const done = await stripe.checkout.sessions.retrieve(s.id, { expand: ['payment_intent.latest_charge'] });
    const pi = done.payment_intent as Stripe.PaymentIntent;
    return { session: done, pi, charge: pi.latest_charge as Stripe.Charge };
  };
  const stripeError = async (p: Promise<unknown>): Promise<Obj> => {
    try {
      await p;
    } catch (e) {
      return e as Obj;
    }
    throw new Error('expected the call to fail');
  };

  before(async () => {
    const url = await receiver.start();
    sandbox = await startSandbox({ knex: testEnv().knex, env: 'test', publicBaseUrl: 'https://pay.courts.example', webhookUrl: () => url, webhookSecret: SECRET, webhookBackoffMs: 10 });
    stripe = new Stripe(sandboxStripeSecretKey(), { ...sandbox.clientOptions, maxNetworkRetries: 0 });
    pages = express().use('/sandbox', sandbox.pages);
  });
  after(async () => {
    await sandbox?.stop();
    await new Promise((r) => receiver.server?.close(r));
  });

  it('creates a Checkout Session shaped like Stripe\'s', async () => {
    const p = params();
    const s = await stripe.checkout.sessions.create(p);
    expect(s.id).to.match(/^cs_test_/);
    expect(s).to.include({ object: 'checkout.session', status: 'open', payment_status: 'unpaid', amount_total: 123456, amount_subtotal: 123456, currency: 'cny', mode: 'payment', livemode: false, payment_intent: null });
    expect(s).to.include({ client_reference_id: p.client_reference_id, expires_at: p.expires_at, success_url: p.success_url, cancel_url: p.cancel_url, customer_email: 'party@example.cn', locale: 'zh' });
    expect(s.url).to.equal(`https://pay.courts.example/sandbox/checkout/${s.id}`);
    expect(s.metadata).to.deep.equal(p.metadata);
    expect(s.payment_method_types).to.deep.equal(['card', 'alipay', 'wechat_pay']);
    expect(s.ui_mode).to.equal('hosted_page');
    expect(s.created).to.be.closeTo(nowSec(), 5);
    expect(s).not.to.have.property('_sandbox');
  });

  it('replays the same session for the same idempotency key, refuses the key with other parameters', async () => {
    const p = params();
    const key = `idem-${seq}-${Date.now()}`;
    const a = await stripe.checkout.sessions.create(p, { idempotencyKey: key });
    const b = await stripe.checkout.sessions.create(p, { idempotencyKey: key });
    expect(b.id).to.equal(a.id);
    const err = await stripeError(stripe.checkout.sessions.create({ ...p, client_reference_id: 'other' }, { idempotencyKey: key }));
    expect(err.type).to.equal('StripeIdempotencyError');
    expect(err.statusCode).to.equal(400);
  });

  it('answers racing requests with one idempotency key with one session', async () => {
    const p = params();
    const key = `race-${seq}-${Date.now()}`;
    const all = await Promise.all(Array.from({ length: 6 }, () => stripe.checkout.sessions.create(p, { idempotencyKey: key })));
    expect(new Set(all.map((s) => s.id)).size).to.equal(1);
    const made = await testEnv().knex('sandbox_objects').where('type', 'checkout.session').whereRaw("data->>'client_reference_id' = ?", [p.client_reference_id!]).count<{ count: string }[]>('* as count');
    expect(Number(made[0].count)).to.equal(1);
  });

  it('pays a session once when two payers race', async () => {
    const s = await stripe.checkout.sessions.create(params());
    const outcomes = await Promise.allSettled([sandbox.pay(s.id), sandbox.pay(s.id, { method: 'alipay' })]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(1);
    const charges = await testEnv().knex('sandbox_objects').where('type', 'charge').whereRaw("data->>'payment_intent' = ?", [(await stripe.checkout.sessions.retrieve(s.id)).payment_intent as string]);
    expect(charges).to.have.length(1);
  });

  it('refuses bad parameters the way Stripe does', async () => {
    const unknown = await stripeError(stripe.checkout.sessions.create({ ...params(), colour: 'red' } as Stripe.Checkout.SessionCreateParams));
    expect(unknown).to.include({ type: 'StripeInvalidRequestError', code: 'parameter_unknown', param: 'colour' });
    const noItems = await stripeError(stripe.checkout.sessions.create(params({ line_items: [] })));
    expect(noItems).to.include({ type: 'StripeInvalidRequestError', param: 'line_items' });
    const tooSoon = await stripeError(stripe.checkout.sessions.create(params({ expires_at: nowSec() + 60 })));
    expect(tooSoon).to.include({ type: 'StripeInvalidRequestError', param: 'expires_at' });
    const missing = await stripeError(stripe.checkout.sessions.retrieve('cs_test_nope'));
    expect(missing).to.include({ type: 'StripeInvalidRequestError', code: 'resource_missing', statusCode: 404 });
  });

  it('follows the API version: payment_method_types is gone since 2026-09-30.endive, allowed_payment_method_types filters', async () => {
    const legacyParams = { ...params(), payment_method_types: ['alipay'] } as Stripe.Checkout.SessionCreateParams;
    delete legacyParams.allowed_payment_method_types;
    const gone = await stripeError(stripe.checkout.sessions.create(legacyParams));
    expect(gone).to.include({ type: 'StripeInvalidRequestError', code: 'parameter_unknown', param: 'payment_method_types' });
    const older = new Stripe(sandboxStripeSecretKey(), { ...sandbox.clientOptions, maxNetworkRetries: 0, apiVersion: '2025-03-31.basil' as never });
    const legacy = await older.checkout.sessions.create(legacyParams);
    expect(legacy).to.include({ ui_mode: 'hosted' });
    expect(legacy.payment_method_types).to.deep.equal(['alipay']);
    const s = await stripe.checkout.sessions.create(params({ allowed_payment_method_types: ['alipay', 'paypal'] }));
    expect(s.payment_method_types).to.deep.equal(['alipay']);
    const page = await request(pages).get(`/sandbox/checkout/${s.id}`);
    expect(page.text).to.contain('value="alipay"').and.not.contain('value="card"');
    const refused = await request(pages).post(`/sandbox/checkout/${s.id}/pay`).type('form').send({ method: 'card' });
    expect(refused.status).to.equal(409);
    const noneLeft = await stripeError(stripe.checkout.sessions.create(params({ allowed_payment_method_types: undefined, excluded_payment_method_types: ['card', 'alipay', 'wechat_pay'] })));
    expect(noneLeft).to.include({ type: 'StripeInvalidRequestError' });
  });

  it('requires a test secret key', async () => {
    const none = await fetch(`${sandbox.apiBase}/v1/checkout/sessions/cs_test_x`);
    expect(none.status).to.equal(401);
    expect((await none.json()).error.type).to.equal('invalid_request_error');
    const live = await stripeError(new Stripe('sk_live_abc', { ...sandbox.clientOptions, maxNetworkRetries: 0 }).checkout.sessions.retrieve('cs_test_x'));
    expect(live.type).to.equal('StripeAuthenticationError');
  });

  it('retrieves a session, and expires an open one once; a complete one cannot be expired', async () => {
    const s = await stripe.checkout.sessions.create(params());
    expect((await stripe.checkout.sessions.retrieve(s.id)).id).to.equal(s.id);
    const expired = await stripe.checkout.sessions.expire(s.id);
    expect(expired).to.include({ status: 'expired', url: null });
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).to.equal('expired');
    const again = await stripeError(stripe.checkout.sessions.expire(s.id));
    expect(again.type).to.equal('StripeInvalidRequestError');

    const { session } = await paidSession();
    const err = await stripeError(stripe.checkout.sessions.expire(session.id));
    expect(err).to.include({ type: 'StripeInvalidRequestError', message: 'Only Checkout Sessions with a status of open can be expired.' });
    await sandbox.flush();
    expect(receiver.events.filter((e) => e.type === 'checkout.session.expired' && (e.data.object as Obj).id === s.id)).to.have.length(1);
  });

  it('reports a session past expires_at as expired, and sends checkout.session.expired once', async () => {
    const s = await stripe.checkout.sessions.create(params());
    await testEnv().knex('sandbox_objects').where({ id: s.id }).update({ data: testEnv().knex.raw(`jsonb_set(data, '{expires_at}', to_jsonb(?::bigint))`, [nowSec() - 5]) });
    const [a, b] = [await stripe.checkout.sessions.retrieve(s.id), await stripe.checkout.sessions.retrieve(s.id)];
    expect(a.status).to.equal('expired');
    expect(b.status).to.equal('expired');
    await sandbox.flush();
    expect(receiver.events.filter((e) => e.type === 'checkout.session.expired' && (e.data.object as Obj).id === s.id)).to.have.length(1);
    const res = await request(pages).get(`/sandbox/checkout/${s.id}`);
    expect(res.text).to.contain('expired');
  });

  it('pays through sandbox.pay(): the intent succeeds and events arrive signed, in Stripe\'s order', async () => {
    const p = params();
    const s = await stripe.checkout.sessions.create(p);
    await sandbox.pay(s.id, { method: 'alipay' });
    await sandbox.flush();
    const done = await stripe.checkout.sessions.retrieve(s.id, { expand: ['payment_intent'] });
    expect(done).to.include({ status: 'complete', payment_status: 'paid' });
    const pi = done.payment_intent as Stripe.PaymentIntent;
    expect(pi).to.include({ object: 'payment_intent', status: 'succeeded', amount: 123456, amount_received: 123456, currency: 'cny' });
    expect(pi.metadata).to.deep.equal(p.payment_intent_data!.metadata);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).to.include({ paid: true, status: 'succeeded', amount: 123456, payment_intent: pi.id });
    expect(charge.payment_method_details!.type).to.equal('alipay');
    const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(txn).to.include({ type: 'charge', amount: 123456, fee: 741, net: 123456 - 741, currency: 'cny', source: charge.id });
    expect(receiver.about(pi.id, s.id)).to.deep.equal(['payment_intent.succeeded', 'charge.succeeded', 'checkout.session.completed']);
    const completed = receiver.events.find((e) => e.type === 'checkout.session.completed' && (e.data.object as Obj).id === s.id)!;
    expect(completed).to.include({ object: 'event', livemode: false, pending_webhooks: 1 });
    expect((completed.data.object as Obj).payment_intent).to.equal(pi.id);
    expect(receiver.rejected).to.equal(0);
    const retried = await stripeError(sandbox.pay(s.id));
    expect(retried.message).to.contain('no longer open');
  });

  it('pays through the checkout page: shows the amount in yuan, redirects to success_url', async () => {
    const s = await stripe.checkout.sessions.create(params());
    const pageRes = await request(pages).get(`/sandbox/checkout/${s.id}`).expect(200);
    expect(pageRes.text).to.contain('¥1,234.56').and.contain('SANDBOX').and.contain('案件受理费').and.contain('value="wechat_pay"');
    const res = await request(pages).post(`/sandbox/checkout/${s.id}/pay`).type('form').send({ method: 'wechat_pay' }).expect(303);
    expect(res.headers.location).to.equal(`https://pay.courts.example/pay/tok/done?session=${s.id}`);
    await sandbox.flush();
    const done = await stripe.checkout.sessions.retrieve(s.id);
    const pi = await stripe.paymentIntents.retrieve(done.payment_intent as string, { expand: ['latest_charge'] });
    expect(pi.status).to.equal('succeeded');
    expect((pi.latest_charge as Stripe.Charge).payment_method_details!.type).to.equal('wechat_pay');
    expect(receiver.about(pi.id, s.id)).to.deep.equal(['payment_intent.succeeded', 'charge.succeeded', 'checkout.session.completed']);
    expect((await request(pages).get(`/sandbox/checkout/${s.id}`)).text).to.contain('complete');
    const again = await request(pages).post(`/sandbox/checkout/${s.id}/pay`).type('form').send({ method: 'card' });
    expect(again.status).to.equal(409);
    expect(pageRes.text).to.contain(`action="/sandbox/checkout/${s.id}/pay"`);
    const items = await stripe.checkout.sessions.retrieve(s.id, { expand: ['line_items'] });
    expect(items.line_items!.data[0]).to.include({ amount_total: 123456, quantity: 1, description: '案件受理费 Acceptance fee' });
  });

  it('declines: payment_failed is sent, the session stays open, and a later payment uses the same intent', async () => {
    const s = await stripe.checkout.sessions.create(params());
    const res = await request(pages).post(`/sandbox/checkout/${s.id}/decline`).type('form').send({}).expect(303);
    expect(res.headers.location).to.equal('https://pay.courts.example/pay/tok');
    await sandbox.flush();
    const failed = receiver.events.find((e) => e.type === 'payment_intent.payment_failed' && ((e.data.object as Obj).metadata as Obj).payment_id === s.metadata!.payment_id);
    expect(failed).to.exist;
    const pi = failed!.data.object as Stripe.PaymentIntent;
    expect(pi.status).to.equal('requires_payment_method');
    expect(pi.last_payment_error).to.include({ code: 'card_declined' });
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).to.equal('open');
    await sandbox.decline(s.id);
    await sandbox.pay(s.id);
    await sandbox.flush();
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).to.equal('succeeded');
    expect(receiver.about(pi.id, s.id)).to.deep.equal(['payment_intent.payment_failed', 'payment_intent.payment_failed', 'payment_intent.succeeded', 'charge.succeeded', 'checkout.session.completed']);
  });

  it('refunds part of a payment, then refuses more than remains', async () => {
    const { pi, charge } = await paidSession(10_000);
    const key = `refund-${Date.now()}`;
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 4_000, reason: 'requested_by_customer', metadata: { refund_id: 'r1' } }, { idempotencyKey: key });
    expect(refund).to.include({ object: 'refund', status: 'succeeded', amount: 4_000, charge: charge.id, payment_intent: pi.id, currency: 'cny' });
    expect((await stripe.refunds.create({ payment_intent: pi.id, amount: 4_000, reason: 'requested_by_customer', metadata: { refund_id: 'r1' } }, { idempotencyKey: key })).id).to.equal(refund.id);
    expect((await stripe.refunds.retrieve(refund.id)).metadata).to.deep.equal({ refund_id: 'r1' });
    const txn = await stripe.balanceTransactions.retrieve(refund.balance_transaction as string);
    expect(txn).to.include({ type: 'refund', amount: -4_000, net: -4_000, source: refund.id });
    const over = await stripeError(stripe.refunds.create({ charge: charge.id, amount: 6_001 }));
    expect(over).to.include({ type: 'StripeInvalidRequestError', code: 'amount_too_large', param: 'amount' });
    const rest = await stripe.refunds.create({ charge: charge.id });
    expect(rest.amount).to.equal(6_000);
    expect(await stripe.charges.retrieve(charge.id)).to.include({ amount_refunded: 10_000, refunded: true });
    const none = await stripeError(stripe.refunds.create({ charge: charge.id, amount: 1 }));
    expect(none).to.include({ code: 'charge_already_refunded' });
    const listed = await stripe.refunds.list({ payment_intent: pi.id, limit: 100 });
    expect(listed.data.map((r) => r.id).sort(), 'listed by payment, as Stripe does').to.deep.equal([refund.id, rest.id].sort());
    expect((await stripe.refunds.list({ charge: charge.id })).data).to.have.length(2);
    expect((await stripe.refunds.list({ payment_intent: 'pi_not_this_one' })).data).to.deep.equal([]);
    await sandbox.flush();
    expect(receiver.about(pi.id).slice(3)).to.deep.equal(['refund.created', 'charge.refunded', 'refund.created', 'charge.refunded']);
  });

  it('a succeeded refund can later fail (the bank returned it)', async () => {
    const { pi } = await paidSession(5_000);
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 2_000 });
    await sandbox.failRefund(refund.id);
    await sandbox.flush();
    expect(await stripe.refunds.retrieve(refund.id)).to.include({ status: 'failed' });
    expect(receiver.about(pi.id).slice(-2)).to.deep.equal(['refund.updated', 'refund.failed']);
  });

  it('lists balance transactions by created range, type and pages, newest first', async () => {
    const t0 = nowSec();
    const mine = [];
    for (const amount of [1_000, 2_000, 3_000]) mine.push((await paidSession(amount)).charge.balance_transaction as string);
    const t1 = nowSec() + 1;
    const seen: string[] = [];
    let startingAfter: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await stripe.balanceTransactions.list({ created: { gte: t0, lt: t1 }, type: 'charge', limit: 2, starting_after: startingAfter });
      expect(page.object).to.equal('list');
      expect(page.url).to.equal('/v1/balance_transactions');
      seen.push(...page.data.map((t) => t.id));
      if (!page.has_more) break;
      startingAfter = page.data.at(-1)!.id;
    }
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen).to.include.members(mine);
    expect(seen.indexOf(mine[2])).to.be.lessThan(seen.indexOf(mine[0]));
    expect((await stripe.balanceTransactions.list({ created: { gte: t1 + 3600 } })).data).to.have.length(0);
    const before = await stripe.balanceTransactions.list({ created: { lt: t0 }, limit: 100 });
    expect(before.data.map((t) => t.id)).not.to.include.members(mine);
    const bad = await stripeError(stripe.balanceTransactions.list({ limit: 101 }));
    expect(bad).to.include({ param: 'limit' });
  });

  it('pays out available balance transactions once, and lists them by payout', async () => {
    const { charge } = await paidSession(8_000);
    const payout = (await stripe.rawRequest('POST', '/v1/sandbox/payouts', {})) as unknown as Stripe.Payout;
    expect(payout).to.include({ object: 'payout', status: 'paid', currency: 'cny' });
    const lines = await stripe.balanceTransactions.list({ payout: payout.id, limit: 100 });
    const ids = lines.data.map((t) => t.id);
    expect(ids).to.include(charge.balance_transaction);
    const own = lines.data.find((t) => t.type === 'payout')!;
    expect(own.amount).to.equal(-payout.amount);
    expect(lines.data.filter((t) => t.type !== 'payout').reduce((s, t) => s + t.net, 0)).to.equal(payout.amount);
    expect((await stripe.payouts.retrieve(payout.id)).amount).to.equal(payout.amount);
    expect((await stripe.payouts.list({ limit: 100 })).data.map((p) => p.id)).to.include(payout.id);
    const next = await stripe.balanceTransactions.list({ payout: payout.id, limit: 100 });
    expect(next.data).to.have.length(lines.data.length);
  });

  it('retries a failing webhook endpoint, in order', async () => {
    receiver.failNext = 2;
    const s = await stripe.checkout.sessions.create(params());
    await sandbox.pay(s.id);
    await sandbox.flush();
    const { payment_intent } = await stripe.checkout.sessions.retrieve(s.id);
    expect(receiver.about(payment_intent as string, s.id)).to.deep.equal(['payment_intent.succeeded', 'charge.succeeded', 'checkout.session.completed']);
  });

  it('refuses to start in production', async () => {
    let error: unknown;
    try {
      await startSandbox({ knex: testEnv().knex, env: 'production', publicBaseUrl: 'https://x', webhookUrl: () => 'http://127.0.0.1:1', webhookSecret: SECRET });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/production/);
  });
});
