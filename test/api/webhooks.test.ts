import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type Stripe from 'stripe';
import winston from 'winston';
import { balances } from '../../src/ledger/ledger';
import { OBSERVATION_CALLBACKS, planObservation } from '../../src/payments/apply';
import { readPaymentStates } from '../../src/payments/payment-store';
import { ConcurrentChangeError, writeSettlements } from '../../src/payments/settle-statement';
import { logger } from '../../src/shared/logger';
import { stripeWebhookEndpoint } from '../../src/webhooks/endpoint';
import { aCase, anInvoice, aPayment, api } from '../support/builders';
import { keyFor, TEST_STRIPE, testEnv } from '../support/env';
import { anEvent, anIntent, aSession, deliver, sign } from '../support/stripe';

type PaymentRow = { id: number; public_id: string; invoice_id: number; amount: number; status: string; checkout_session_id: string; payment_intent_id: string; settled_amount: number; flag_reason: string | null; dispute_status: string | null; charge_id: string | null };

let cs: string;
before(async () => {
  cs = await keyFor('case_system');
});

async function pendingPayment(): Promise<PaymentRow> {
  const inv = await anInvoice(cs, await aCase(cs));
  return aPayment(inv.id, { settle: false });
}

const reload = async (p: PaymentRow): Promise<PaymentRow> => testEnv().knex('payments').where({ id: p.id }).first();
const invoiceOf = async (p: PaymentRow) => testEnv().knex('invoices').where({ id: p.invoice_id }).first();
const settlements = async (p: PaymentRow) => Number((await testEnv().knex('ledger_transactions').where({ payment_id: p.id, kind: 'payment_settled' }).count('* as n'))[0].n);
const eventRow = async (id: string) => testEnv().knex('processor_events').where({ event_id: id }).first();

/** The events one payment can produce, as Stripe would send them. */
const EVENTS: Record<string, (p: PaymentRow) => Stripe.Event> = {
  'checkout.session.completed': (p) => anEvent('checkout.session.completed', aSession({ id: p.checkout_session_id, status: 'complete', payment_status: 'paid', amount_total: p.amount, payment_intent: p.payment_intent_id, metadata: { payment_id: p.public_id }, client_reference_id: p.public_id })),
  'payment_intent.succeeded': (p) => anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: `ch_${p.id}`, metadata: { payment_id: p.public_id } })),
  'checkout.session.expired': (p) => anEvent('checkout.session.expired', aSession({ id: p.checkout_session_id, status: 'expired', amount_total: p.amount, metadata: { payment_id: p.public_id } })),
  'payment_intent.canceled': (p) => anEvent('payment_intent.canceled', anIntent({ id: p.payment_intent_id, status: 'canceled', amount: p.amount, cancellation_reason: 'abandoned', metadata: { payment_id: p.public_id } })),
  'checkout.session.async_payment_failed': (p) => anEvent('checkout.session.async_payment_failed', aSession({ id: p.checkout_session_id, status: 'complete', payment_status: 'unpaid', amount_total: p.amount, metadata: { payment_id: p.public_id } })),
  'payment_intent.payment_failed': (p) => anEvent('payment_intent.payment_failed', anIntent({ id: p.payment_intent_id, status: 'requires_payment_method', amount: p.amount, last_payment_error: { code: 'card_declined', message: 'Your card was declined.' } as never, metadata: { payment_id: p.public_id } })),
};
const SUCCESS = ['checkout.session.completed', 'payment_intent.succeeded'];
// A decline fails the attempt (Stripe keeps the intent open for another try; a later success still settles it).
const ENDING: Record<string, string> = { 'checkout.session.expired': 'expired', 'payment_intent.canceled': 'canceled', 'checkout.session.async_payment_failed': 'failed', 'payment_intent.payment_failed': 'failed' };

describe('webhook: signatures', () => {
  it('when the signature is valid, then the event is recorded and applied', async () => {
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    const res = await deliver(e);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ received: true, duplicate: false, status: 'processed' });
    expect(await eventRow(e.id)).to.include({ status: 'processed', type: 'payment_intent.succeeded', object_id: p.payment_intent_id });
    expect((await reload(p)).status).to.equal('succeeded');
  });

  it('when the endpoint secret is being rotated, then events signed with the previous secret still verify', async () => {
    const p = await pendingPayment();
    const res = await deliver(EVENTS['payment_intent.succeeded'](p), { secret: TEST_STRIPE.oldWebhookSecret });
    expect(res.status).to.equal(200);
  });

  const refused: [string, (e: Stripe.Event) => ReturnType<typeof deliver>][] = [
    ['no signature', (e) => deliver(e, { signature: null })],
    ['the wrong secret', (e) => deliver(e, { secret: 'whsec_someone_else' })],
    ['a tampered body', (e) => { const body = JSON.stringify(e, null, 2); return deliver(body.replace(/"amount_received": \d+/, '"amount_received": 1'), { signature: sign(body) }); }],
    ['re-serialised JSON', (e) => { const body = JSON.stringify(e, null, 2); return deliver(JSON.stringify(JSON.parse(body)), { signature: sign(body) }); }],
    ['an old timestamp (replay)', (e) => deliver(e, { timestamp: Math.floor(Date.now() / 1000) - 600 })],
  ];
  for (const [what, send] of refused) {
    it(`when it comes with ${what}, then 400 and nothing is recorded`, async () => {
      const p = await pendingPayment();
      const e = EVENTS['payment_intent.succeeded'](p);
      const res = await send(e);
      expect(res.status).to.equal(400);
      expect(res.body.code).to.be.oneOf(['missing_signature', 'invalid_signature']);
      expect(await eventRow(e.id)).to.equal(undefined);
      expect((await reload(p)).status).to.equal('pending');
    });
  }
});

describe('webhook: exactly once', () => {
  it('when the same event is delivered twice, then the second changes nothing and still gets 200', async () => {
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    await deliver(e).expect(200);
    const again = await deliver(e);
    expect(again.status).to.equal(200);
    expect(again.body.duplicate).to.equal(true);
    expect(await settlements(p)).to.equal(1);
    expect((await invoiceOf(p)).paid_amount).to.equal(p.amount);
  });

  it('when the same event arrives five times at once, then it is applied once', async () => {
    const p = await pendingPayment();
    const e = EVENTS['checkout.session.completed'](p);
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(e)));
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.duplicate === false)).to.have.length(1);
    expect(await settlements(p)).to.equal(1);
    expect((await invoiceOf(p)).status).to.equal('paid');
  });

  it('when two different success events for one payment race, then the money is settled once', async () => {
    const p = await pendingPayment();
    await Promise.all([deliver(EVENTS['checkout.session.completed'](p)), deliver(EVENTS['payment_intent.succeeded'](p))]);
    expect(await settlements(p)).to.equal(1);
    expect((await invoiceOf(p)).paid_amount).to.equal(p.amount);
  });
});

describe('webhook: out of order — every pair of events for one payment', () => {
  const names = Object.keys(EVENTS);
  for (const first of names) {
    for (const second of names) {
      if (first === second) continue;
      const expected = SUCCESS.includes(first) || SUCCESS.includes(second) ? 'succeeded' : (ENDING[first] ?? ENDING[second] ?? 'pending');
      it(`when ${first} then ${second}, then the payment is ${expected}`, async () => {
        const p = await pendingPayment();
        await deliver(EVENTS[first](p)).expect(200);
        await deliver(EVENTS[second](p)).expect(200);
        const after = await reload(p);
        expect(after.status).to.equal(expected);
        expect(await settlements(p)).to.equal(expected === 'succeeded' ? 1 : 0);
        expect((await invoiceOf(p)).paid_amount).to.equal(expected === 'succeeded' ? p.amount : 0);
      });
    }
  }
});

describe('webhook: what does not match', () => {
  it('when the amount differs from what we asked for, then nothing is applied, the payment is flagged and the event kept', async () => {
    const p = await pendingPayment();
    const e = anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount - 100, amount_received: p.amount - 100, metadata: { payment_id: p.public_id } }));
    const res = await deliver(e);
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('flagged');
    const after = await reload(p);
    expect(after.status).to.equal('pending');
    expect(after.flag_reason).to.match(/amount/);
    expect(await eventRow(e.id)).to.include({ status: 'flagged' });
    expect((await invoiceOf(p)).paid_amount).to.equal(0);
  });

  it('when the currency differs, then the payment is flagged and not settled', async () => {
    const p = await pendingPayment();
    const res = await deliver(anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, currency: 'usd', metadata: { payment_id: p.public_id } })));
    expect(res.body.status).to.equal('flagged');
    expect((await reload(p)).flag_reason).to.match(/currency/);
    expect(await settlements(p)).to.equal(0);
  });

  it('when the event type is not one we use, then it is recorded as ignored', async () => {
    const e = anEvent('customer.created', { id: 'cus_1', object: 'customer' });
    expect((await deliver(e)).body.status).to.equal('ignored');
    expect(await eventRow(e.id)).to.include({ status: 'ignored' });
  });

  it('when the event is about a payment we never made, then it is recorded as ignored', async () => {
    const e = anEvent('payment_intent.succeeded', anIntent({ status: 'succeeded', amount: 100, amount_received: 100, metadata: { payment_id: 'pay_unknown' } }));
    expect((await deliver(e)).body.status).to.equal('ignored');
  });
});

describe('webhook: failure mid-processing', () => {
  it('when applying fails, then the event is kept as failed with 500, and a redelivery finishes it once', async () => {
    const { knex } = testEnv();
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    await knex.raw(`create function test_outage() returns trigger language plpgsql as $$ begin raise exception 'simulated outage'; end $$;
      create trigger test_outage before insert on ledger_transactions for each row execute function test_outage();`);
    let first;
    logger.silent = true; // the outage is logged as an error on purpose
    try {
      first = await deliver(e);
    } finally {
      logger.silent = false;
      await knex.raw('drop trigger test_outage on ledger_transactions; drop function test_outage();');
    }
    expect(first.status).to.equal(500);
    expect(await eventRow(e.id)).to.include({ status: 'failed', attempts: 1 });
    expect((await eventRow(e.id)).last_error, 'the database’s message, not the statement before it').to.equal('simulated outage');
    expect((await reload(p)).status).to.equal('pending');
    const second = await deliver(e);
    expect(second.status).to.equal(200);
    expect(second.body.duplicate).to.equal(false);
    expect(await eventRow(e.id)).to.include({ status: 'processed', attempts: 2 });
    expect(await settlements(p)).to.equal(1);
  });
});

describe('webhook: disputes', () => {
  const disputeEvent = (type: string, p: PaymentRow, status: string, amount: number, id = 'dp_' + p.id) =>
    anEvent(type, { id, object: 'dispute', amount, currency: 'cny', charge: p.charge_id, payment_intent: p.payment_intent_id, status, reason: 'fraudulent' });

  it('when a dispute opens and is won, then the money goes to disputed funds and comes back', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const p: PaymentRow = await aPayment(inv.id);
    await deliver(disputeEvent('charge.dispute.created', p, 'needs_response', p.amount)).expect(200);
    expect(await reload(p)).to.include({ status: 'disputed', dispute_status: 'open' });
    expect((await balances(testEnv().knex, { invoiceId: p.invoice_id })).disputed_funds).to.equal(p.amount);
    await deliver(disputeEvent('charge.dispute.closed', p, 'won', p.amount)).expect(200);
    expect(await reload(p)).to.include({ status: 'succeeded', dispute_status: 'won' });
    const b = await balances(testEnv().knex, { invoiceId: p.invoice_id });
    expect(b).to.include({ disputed_funds: 0, processor_clearing: p.amount, fee_income: -p.amount });
  });

  it('when applying a dispute fails, then the event is kept as failed with the database’s message, and a redelivery applies it once', async () => {
    const { knex } = testEnv();
    const inv = await anInvoice(cs, await aCase(cs));
    const p: PaymentRow = await aPayment(inv.id);
    const e = disputeEvent('charge.dispute.created', p, 'needs_response', p.amount);
    await knex.raw(`create function test_outage() returns trigger language plpgsql as $$ begin raise exception 'simulated outage'; end $$;
      create trigger test_outage before insert on ledger_transactions for each row execute function test_outage();`);
    logger.silent = true; // the outage is logged as an error on purpose
    try {
      await deliver(e).expect(500);
    } finally {
      logger.silent = false;
      await knex.raw('drop trigger test_outage on ledger_transactions; drop function test_outage();');
    }
    expect(await eventRow(e.id)).to.include({ status: 'failed', last_error: 'simulated outage' });
    await deliver(e).expect(200);
    expect(await reload(p)).to.include({ status: 'disputed', dispute_status: 'open' });
    expect((await balances(knex, { invoiceId: p.invoice_id })).disputed_funds).to.equal(p.amount);
  });

  it('when a dispute is lost, then the court’s fee income and the invoice lose the money', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const p: PaymentRow = await aPayment(inv.id);
    await deliver(disputeEvent('charge.dispute.created', p, 'needs_response', p.amount)).expect(200);
    await deliver(disputeEvent('charge.dispute.closed', p, 'lost', p.amount)).expect(200);
    expect(await reload(p)).to.include({ status: 'disputed', dispute_status: 'lost', settled_amount: 0 });
    expect(await invoiceOf(p)).to.include({ paid_amount: 0, status: 'unpaid' });
    expect(await balances(testEnv().knex, { invoiceId: p.invoice_id })).to.include({ fee_income: 0, disputed_funds: 0, processor_clearing: 0 });
  });

  it('when the dispute closes before we saw it open, then lost still moves the money once and a late "created" changes nothing', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const p: PaymentRow = await aPayment(inv.id);
    await deliver(disputeEvent('charge.dispute.closed', p, 'lost', p.amount)).expect(200);
    await deliver(disputeEvent('charge.dispute.created', p, 'needs_response', p.amount)).expect(200);
    expect(await reload(p)).to.include({ dispute_status: 'lost' });
    expect(await balances(testEnv().knex, { invoiceId: p.invoice_id })).to.include({ fee_income: 0, disputed_funds: 0, processor_clearing: 0 });
  });
});

describe('webhook: the one-statement write is a compare-and-set', () => {
  const succeeded = (p: PaymentRow) => ({ source: 'evt_cas', outcome: 'succeeded' as const, amount: p.amount, currency: 'cny', paymentIntentId: p.payment_intent_id });
  const claimOf = (id: string) => ({ row: { event_id: id, type: 'payment_intent.succeeded', object_id: null, livemode: false, status: 'processed' as const, note: 'payment succeeded' }, payload: '{}' });

  for (const [what, move] of [
    ['the payment', (p: PaymentRow) => testEnv().knex('payments').where({ id: p.id }).update({ payment_method_type: 'alipay' })],
    ['its invoice', (p: PaymentRow) => testEnv().knex('invoices').where({ id: p.invoice_id }).update({ updated_at: new Date() })],
  ] as const) {
    it(`when ${what} moved between the read and the write, then nothing is written — not even the inbox claim — and a delivery still applies the event once`, async () => {
      const { knex } = testEnv();
      const p = await pendingPayment();
      const e = EVENTS['payment_intent.succeeded'](p);
      const [{ state }] = await readPaymentStates(knex, [{ eventId: e.id, ref: { paymentId: p.public_id } }], OBSERVATION_CALLBACKS);
      const plan = planObservation(testEnv().config, state!, succeeded(p));
      await move(p);
      let error: unknown;
      try {
        await writeSettlements(knex, [{ state, write: plan.write, claim: claimOf(e.id) }]);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ConcurrentChangeError);
      expect(await eventRow(e.id)).to.equal(undefined);
      expect(await settlements(p)).to.equal(0);
      expect(await invoiceOf(p)).to.include({ paid_amount: 0, status: 'unpaid' });
      expect((await reload(p)).status).to.equal('pending');

      const res = await deliver(e);
      expect(res.body).to.include({ duplicate: false, status: 'processed' });
      expect(await settlements(p)).to.equal(1);
      expect(await invoiceOf(p)).to.include({ paid_amount: p.amount, status: 'paid' });
    });
  }

  it('when the write finds the event already claimed, then it reports a duplicate and changes nothing', async () => {
    const { knex } = testEnv();
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    const [{ state }] = await readPaymentStates(knex, [{ eventId: e.id, ref: { paymentId: p.public_id } }], OBSERVATION_CALLBACKS);
    const plan = planObservation(testEnv().config, state!, succeeded(p));
    await knex('processor_events').insert({ event_id: e.id, type: e.type, payload: '{}', status: 'processed' });
    expect([...(await writeSettlements(knex, [{ state, write: plan.write, claim: claimOf(e.id) }]))]).to.deep.equal([]);
    expect(await settlements(p)).to.equal(0);
    expect((await reload(p)).status).to.equal('pending');
  });
});

describe('webhook: events arriving together are written together', () => {
  it('when many payments’ events, a duplicate and two events for one payment arrive at once, then each settles once and each audit row names its own request', async () => {
    const { knex } = testEnv();
    const payments = await Promise.all(Array.from({ length: 8 }, () => pendingPayment()));
    const events = payments.map((p) => EVENTS['payment_intent.succeeded'](p));
    const sameAgain = EVENTS['checkout.session.completed'](payments[0]);
    const deliveries = [...events, events[3], sameAgain].map((e, i) => deliver(e).set('x-request-id', `together-${i}`));
    const responses = await Promise.all(deliveries);
    expect(responses.map((r) => r.status)).to.deep.equal(responses.map(() => 200));
    expect(responses.filter((r) => r.body.duplicate === false && r.body.note === 'payment succeeded')).to.have.length(8);
    for (const p of payments) {
      expect(await settlements(p)).to.equal(1);
      expect(await invoiceOf(p)).to.include({ paid_amount: p.amount, status: 'paid' });
    }
    const audits = await knex('audit_events').where({ action: 'payment.succeeded' }).whereIn('entity_id', payments.map((p) => p.public_id)).select('entity_id', 'request_id');
    expect(audits).to.have.length(8);
    for (const a of audits) {
      const i = payments.findIndex((p) => p.public_id === a.entity_id);
      expect(a.request_id, `audit of payment ${i}`).to.be.oneOf([`together-${i}`, ...(i === 0 ? ['together-9'] : []), ...(i === 3 ? ['together-8'] : [])]);
    }
  });
});

/** A raw HTTP exchange with the service, so a test can choose how the body is framed (supertest always sends a length). */
async function exchange(body: string, headers: Record<string, string>, framing: 'length' | 'chunked'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const server = http.createServer(testEnv().app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request(
        { port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/webhooks/stripe', headers: { 'content-type': 'application/json', ...headers, ...(framing === 'length' ? { 'content-length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      if (framing === 'chunked') {
        const half = Math.floor(body.length / 2);
        req.write(body.slice(0, half));
        req.end(body.slice(half));
      } else req.end(body);
    });
  } finally {
    server.close();
  }
}

/** Headers both ways of serving must agree on (not the ones that differ per response or per framing). */
const comparable = (h: http.IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'content-length', 'transfer-encoding', 'x-request-id', 'connection', 'keep-alive'].includes(k)));

describe('webhook: the plain delivery is answered ahead of Express, with what Express gives every route', () => {
  it('when Stripe delivers an event, then the answer carries the request id, the security headers and JSON; the audit row, the log lines and the metrics name the request and route', async () => {
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    const lines: string[] = [];
    const capture = new winston.transports.Stream({ stream: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) });
    const level = logger.level;
    const others = logger.transports.filter((t) => !t.silent);
    logger.level = 'info';
    others.forEach((t) => (t.silent = true));
    logger.add(capture);
    let res;
    try {
      res = await deliver(e).set('x-request-id', 'lean-ok-1');
    } finally {
      logger.remove(capture);
      others.forEach((t) => (t.silent = false));
      logger.level = level;
    }
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ received: true, duplicate: false, status: 'processed', note: 'payment succeeded' });
    expect(res.headers).to.include({ 'x-request-id': 'lean-ok-1', 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN' });
    expect(res.headers['content-security-policy']).to.include("form-action 'self' https://checkout.stripe.com");
    expect(res.headers).not.to.have.property('x-powered-by');
    const audit = await testEnv().knex('audit_events').where({ action: 'payment.succeeded', entity_id: p.public_id }).first();
    expect(audit.request_id).to.equal('lean-ok-1');
    const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'lean-ok-1');
    expect(mine.map((l) => l.message)).to.include.members(['processor event', 'request']);
    expect(mine.find((l) => l.message === 'request')).to.include({ method: 'POST', route: '/webhooks/stripe', status: 200 });
    const metrics = (await api().get('/metrics')).text;
    expect(metrics).to.match(/http_request_duration_seconds_count\{method="POST",route="\/webhooks\/stripe",status="200"\} [1-9]/);
  });

  it('when a delivery comes chunked (no length), then Express serves it with the same answer and effects, and either way a redelivery is a duplicate', async () => {
    const [a, b] = await Promise.all([pendingPayment(), pendingPayment()]);
    const [ea, eb] = [EVENTS['payment_intent.succeeded'](a), EVENTS['payment_intent.succeeded'](b)];
    const bodies = [ea, eb].map((e) => JSON.stringify(e, null, 2));
    const plain = await exchange(bodies[0], { 'stripe-signature': sign(bodies[0]), 'x-request-id': 'framing-length' }, 'length');
    const chunked = await exchange(bodies[1], { 'stripe-signature': sign(bodies[1]), 'x-request-id': 'framing-chunked' }, 'chunked');
    expect(plain.status, plain.body).to.equal(200);
    expect(chunked.status, chunked.body).to.equal(200);
    expect(JSON.parse(chunked.body)).to.deep.equal(JSON.parse(plain.body));
    expect(comparable(chunked.headers)).to.deep.equal(comparable(plain.headers));
    expect([plain.headers['x-request-id'], chunked.headers['x-request-id']]).to.deep.equal(['framing-length', 'framing-chunked']);
    for (const p of [a, b]) {
      expect(await reload(p)).to.include({ status: 'succeeded', settled_amount: p.amount });
      expect(await settlements(p)).to.equal(1);
    }
    const again = await Promise.all([exchange(bodies[0], { 'stripe-signature': sign(bodies[0]) }, 'chunked'), exchange(bodies[1], { 'stripe-signature': sign(bodies[1]) }, 'length')]);
    expect(again.map((r) => JSON.parse(r.body))).to.deep.equal([{ received: true, duplicate: true }, { received: true, duplicate: true }]);
    expect([await settlements(a), await settlements(b)]).to.deep.equal([1, 1]);
  });

  it('when the signature does not verify, then both ways answer the same 400 problem naming Stripe-Signature and the request', async () => {
    const p = await pendingPayment();
    const body = JSON.stringify(EVENTS['payment_intent.succeeded'](p), null, 2);
    const bad = sign(body, { secret: 'whsec_someone_else' });
    const answers = [await exchange(body, { 'stripe-signature': bad, 'x-request-id': 'bad-sig-1' }, 'length'), await exchange(body, { 'stripe-signature': bad, 'x-request-id': 'bad-sig-2' }, 'chunked')];
    answers.forEach((r, i) => {
      expect(r.status).to.equal(400);
      expect(r.headers['content-type']).to.equal('application/problem+json; charset=utf-8');
      expect(JSON.parse(r.body)).to.include({ status: 400, code: 'invalid_signature', requestId: `bad-sig-${i + 1}` });
      expect(JSON.parse(r.body).errors).to.deep.equal([{ field: 'Stripe-Signature', message: 'does not verify' }]);
    });
    expect(comparable(answers[1].headers)).to.deep.equal(comparable(answers[0].headers));
    expect((await reload(p)).status).to.equal('pending');
  });

  it('when the body is over 1 MB, then 413 problem naming the body, and nothing is recorded', async () => {
    const p = await pendingPayment();
    const e = EVENTS['payment_intent.succeeded'](p);
    const body = JSON.stringify({ ...e, padding: 'x'.repeat(1024 * 1024) });
    const res = await exchange(body, { 'stripe-signature': sign(body) }, 'length');
    expect(res.status).to.equal(413);
    expect(JSON.parse(res.body)).to.include({ code: 'payload_too_large' });
    expect(JSON.parse(res.body).errors).to.deep.equal([{ field: 'body', message: 'too large' }]);
    expect(await eventRow(e.id)).to.equal(undefined);
    expect((await reload(p)).status).to.equal('pending');
  });
});

describe('webhook: which deliveries the lean endpoint takes', () => {
  const endpoint = () => stripeWebhookEndpoint({ knex: testEnv().knex, config: testEnv().config, processor: testEnv().processor, metrics: { track: () => undefined }, headers: {} });
  const request = (o: { method?: string; url?: string; headers?: Record<string, string> }) =>
    Object.assign(new (require('node:events').EventEmitter)(), { method: 'POST', url: '/webhooks/stripe', headers: { 'content-length': '10' }, ...o }) as unknown as http.IncomingMessage;
  const response = () => Object.assign(new (require('node:events').EventEmitter)(), { setHeader: () => undefined }) as unknown as http.ServerResponse;
  const cases: [string, Parameters<typeof request>[0], boolean][] = [
    ['a POST with a length within the limit', {}, true],
    ['a POST with an identity encoding', { headers: { 'content-length': '10', 'content-encoding': 'identity' } }, true],
    ['a chunked POST', { headers: { 'transfer-encoding': 'chunked' } }, false],
    ['a gzipped POST', { headers: { 'content-length': '10', 'content-encoding': 'gzip' } }, false],
    ['a POST over 1 MB', { headers: { 'content-length': String(1024 * 1024 + 1) } }, false],
    ['a GET', { method: 'GET' }, false],
    ['another path', { url: '/webhooks/stripe/' }, false],
    ['the path with a query', { url: '/webhooks/stripe?x=1' }, false],
  ];
  for (const [what, o, taken] of cases) {
    it(`when it is ${what}, then it is ${taken ? 'taken' : 'left to Express'}`, () => {
      expect(endpoint()(request(o), response())).to.equal(taken);
    });
  }
});
