import { expect } from 'chai';
import nock from 'nock';
import { sweepRefunds } from '../../src/refunds/sweep';
import { logger } from '../../src/shared/logger';
import { aCase, anInvoice, aPayment, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, aRefund, deliver, formBody, stripeApi, expectStripeStubsUsed } from '../support/stripe';

describe('refunds', () => {
  let cs: string, clerk: string, clerk2: string, approver: string, approver2: string, finance: string;
  before(async () => {
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
    clerk2 = await keyFor('clerk', ['1411']);
    approver = await keyFor('approver', ['1411']);
    approver2 = await keyFor('approver', ['1411']);
    finance = await keyFor('finance', ['1411']);
  });
  afterEach(expectStripeStubsUsed);

  /** A settled payment of `amount` fen on a fresh invoice in court 1411. */
  async function paid(claimAmount = 5_000_000) {
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount });
    return aPayment(inv.id);
  }
  const request = (paymentId: string, body: Record<string, unknown>, key = clerk) => api().post(`/v1/payments/${paymentId}/refunds`).set(auth(key)).send(body);
  const refundRow = (id: string) => testEnv().knex('refunds').where({ public_id: id }).first();
  const count = async (paymentId: number) => Number((await testEnv().knex('refunds').where({ payment_id: paymentId }).count('* as n'))[0].n);

  /** Stubs Stripe's refund create, capturing the bodies and idempotency keys it receives. */
  function stripeRefunds(reply: (body: Record<string, string>) => [number, unknown], times = 1) {
    const calls: { body: Record<string, string>; key: string }[] = [];
    stripeApi()
      .post('/v1/refunds')
      .times(times)
      .reply(function (_uri, body) {
        const b = formBody(body);
        calls.push({ body: b, key: String(this.req.headers['idempotency-key']) });
        return reply(b) as never;
      });
    return calls;
  }
  const succeeded = (b: Record<string, string>): [number, unknown] => [200, aRefund({ amount: Number(b.amount), status: 'succeeded', metadata: { refund_id: b['metadata[refund_id]'] } })];

  it('when a clerk requests and another person approves, then Stripe refunds it once with the refund id as key, and the books move', async () => {
    const p = await paid();
    const req = await request(p.public_id, { amount: 30000, reasonCode: 'overpayment', expectedRefundableAmount: p.amount });
    expect(req.status, req.text).to.equal(201);
    expect(req.body).to.include({ status: 'requested', amount: 30000, refundableAfter: p.amount - 30000 });
    const calls = stripeRefunds(succeeded);
    const ok = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).send({ note: 'checked the receipt' });
    expect(ok.status, ok.text).to.equal(200);
    expect(ok.body.status).to.equal('succeeded');
    expect(calls).to.have.length(1);
    expect(calls[0].key).to.equal(`courtpay-refund-${req.body.id}`);
    expect(calls[0].body).to.include({ amount: '30000', payment_intent: p.payment_intent_id, 'metadata[refund_id]': req.body.id });
    const inv = await testEnv().knex('invoices').where({ id: p.invoice_id }).first();
    expect(inv).to.include({ refunded_amount: 30000, status: 'partially_refunded' });
    expect((await testEnv().knex('payments').where({ id: p.id }).first()).refunded_amount).to.equal(30000);
    const history = (await api().get(`/v1/refunds/${req.body.id}`).set(auth(finance))).body.history;
    expect(history.map((h: { action: string }) => h.action)).to.deep.equal(['refund.requested', 'refund.approved', 'refund.submitting', 'refund.succeeded']);
    expect(history.map((h: { status: string }) => h.status)).to.deep.equal(['requested', 'approved', 'submitting', 'succeeded']);
    expect(history[3].processorRefundId).to.match(/^re_/);
  });

  it('when the requester tries to approve their own request, then 403 and nothing changes; a second approver may', async () => {
    const p = await paid();
    const clerkAsApprover = await keyFor('approver', ['1411']);
    const req = await request(p.public_id, { amount: 100, reasonCode: 'overpayment' }, clerk);
    // Same person cannot approve: simulate by approving with the key that requested (through the store's actor id).
    await testEnv().knex('refunds').where({ public_id: req.body.id }).update({ requested_by: `api_key:${(await testEnv().authenticator.authenticate(clerkAsApprover))!.keyId}` });
    const own = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(clerkAsApprover));
    expect(own.status).to.equal(403);
    expect(own.body.code).to.equal('own_refund_request');
    expect((await refundRow(req.body.id)).status).to.equal('requested');
  });

  it('when a refund is rejected with a note, then it frees the amount; approving it later is 409', async () => {
    const p = await paid();
    const req = await request(p.public_id, { amount: p.amount, reasonCode: 'court_decision' });
    const rej = await api().post(`/v1/refunds/${req.body.id}/reject`).set(auth(approver)).send({ note: 'no decision on file' });
    expect(rej.body).to.include({ status: 'rejected', decisionNote: 'no decision on file' });
    const late = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver2));
    expect(late.status).to.equal(409);
    expect(late.body.code).to.equal('refund_rejected');
    expect((await request(p.public_id, { amount: p.amount, reasonCode: 'court_decision' })).status).to.equal(201);
  });

  it('when the requester or an approver cancels before submission, then it is cancelled; another clerk may not', async () => {
    const p = await paid();
    const a = await request(p.public_id, { amount: 100, reasonCode: 'overpayment' });
    expect((await api().post(`/v1/refunds/${a.body.id}/cancel`).set(auth(clerk2))).body.code).to.equal('not_your_refund');
    expect((await api().post(`/v1/refunds/${a.body.id}/cancel`).set(auth(clerk))).body.status).to.equal('cancelled');
    const b = await request(p.public_id, { amount: 100, reasonCode: 'overpayment' });
    expect((await api().post(`/v1/refunds/${b.body.id}/cancel`).set(auth(approver))).body.status).to.equal('cancelled');
  });

  it('when the expected refundable amount is stale, then 412 and nothing is created', async () => {
    const p = await paid();
    await request(p.public_id, { amount: 1000, reasonCode: 'overpayment' }).expect(201);
    const stale = await request(p.public_id, { amount: 1000, reasonCode: 'overpayment', expectedRefundableAmount: p.amount });
    expect(stale.status).to.equal(412);
    expect(stale.body).to.include({ code: 'refundable_amount_changed' });
    expect(await count(p.id)).to.equal(1);
  });

  describe('each bad request gets its own code and changes nothing', () => {
    const cases: [string, number, string, (p: { public_id: string; amount: number }) => Record<string, unknown>][] = [
      ['a zero amount', 422, 'amount_zero', () => ({ amount: 0, reasonCode: 'overpayment' })],
      ['a negative amount', 422, 'amount_negative', () => ({ amount: -5, reasonCode: 'overpayment' })],
      ['a fractional amount', 422, 'amount_not_integer', () => ({ amount: 10.5, reasonCode: 'overpayment' })],
      ['more than was paid', 422, 'amount_exceeds_refundable', (p) => ({ amount: p.amount + 1, reasonCode: 'overpayment' })],
      ['reason other without a note', 422, 'note_required', () => ({ amount: 1, reasonCode: 'other' })],
    ];
    for (const [what, status, code, body] of cases) {
      it(`when asked for ${what}, then ${status} ${code}`, async () => {
        const p = await paid();
        const res = await request(p.public_id, body(p));
        expect(res.status).to.equal(status);
        expect(res.body.code === code || res.body.errors?.some((e: { code: string }) => e.code === code), res.text).to.equal(true);
        expect(await count(p.id)).to.equal(0);
      });
    }

    it('when the payment is pending, then 409 payment_pending; when it failed, then 409 payment_failed', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const p = await aPayment(inv.id, { settle: false });
      expect((await request(p.public_id, { amount: 1, reasonCode: 'overpayment' })).body.code).to.equal('payment_pending');
      await testEnv().knex('payments').where({ id: p.id }).update({ status: 'failed' });
      expect((await request(p.public_id, { amount: 1, reasonCode: 'overpayment' })).body.code).to.equal('payment_failed');
      expect(await count(p.id)).to.equal(0);
    });

    it('when the refund belongs to another court, then 404 for approve and for read', async () => {
      const p = await paid();
      const req = await request(p.public_id, { amount: 1, reasonCode: 'overpayment' });
      const elsewhere = await keyFor('approver', ['1412']);
      expect((await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(elsewhere))).status).to.equal(404);
      expect((await api().get(`/v1/refunds/${req.body.id}`).set(auth(await keyFor('clerk', ['1412'])))).status).to.equal(404);
      expect((await refundRow(req.body.id)).status).to.equal('requested');
    });
  });

  it('when 100 refund requests arrive at once on one payment, then what they reserve never exceeds what was paid', async function () {
    if (testEnv().embedded) this.skip(); // needs real concurrent sessions; the embedded database has one
    this.timeout(60_000);
    const p = await paid(1_000_000); // 50.00 yuan → 5000 fen
    const answers = await Promise.all(Array.from({ length: 100 }, () => request(p.public_id, { amount: 70, reasonCode: 'overpayment' })));
    const accepted = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || a.body.code === 'amount_exceeds_refundable'), JSON.stringify(answers.map((a) => a.status))).to.equal(true);
    expect(accepted.length * 70).to.be.at.most(p.amount);
    expect(accepted.length).to.equal(Math.floor(p.amount / 70));
    const [{ sum }] = await testEnv().knex('refunds').where({ payment_id: p.id }).sum('amount as sum');
    expect(Number(sum)).to.be.at.most(p.amount);
    expect(nock.pendingMocks()).to.deep.equal([]); // no Stripe call for requests that were not approved
  });

  it('when two approvals of one refund race, then one wins and Stripe is called once', async () => {
    const p = await paid();
    const req = await request(p.public_id, { amount: 500, reasonCode: 'overpayment' });
    const calls = stripeRefunds(succeeded);
    const [a, b] = await Promise.all([
      api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)),
      api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver2)),
    ]);
    expect([a.status, b.status].sort()).to.deep.equal([200, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.code).to.match(/^refund_(approved|submitting|submitted|succeeded)$/);
    expect(calls).to.have.length(1);
    const again = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver2));
    expect(again.status).to.equal(409);
    expect(again.body.code, 'approving twice').to.equal('refund_succeeded');
    expect((await refundRow(req.body.id)).status).to.equal('succeeded');
  });

  it('when the process fails after Stripe accepted but before our update, then recovery finds the same Stripe refund by our id at the processor and settles once', async () => {
    const { knex } = testEnv();
    const p = await paid();
    const req = await request(p.public_id, { amount: 800, reasonCode: 'overpayment' });
    const stripeRefund = aRefund({ amount: 800, status: 'succeeded', metadata: { refund_id: req.body.id } });
    const calls = stripeRefunds(() => [200, stripeRefund], 1);
    await knex.raw(`create function test_crash() returns trigger language plpgsql as $$ begin raise exception 'simulated crash'; end $$;
      create trigger test_crash before update on refunds for each row when (new.processor_refund_id is not null) execute function test_crash();`);
    logger.silent = true;
    let crashed;
    try {
      crashed = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver));
    } finally {
      logger.silent = false;
      await knex.raw('drop trigger test_crash on refunds; drop function test_crash();');
    }
    expect(crashed.status).to.equal(500);
    expect(await refundRow(req.body.id), 'committed before the call, so it may have reached Stripe').to.include({ status: 'submitting', processor_refund_id: null });
    await knex('refunds').where({ public_id: req.body.id }).update({ updated_at: new Date(Date.now() - 10 * 60_000) });
    // Before sending again the sweep asks the processor for the refunds of the payment: ours is there, by its id.
    stripeApi().get('/v1/refunds').query({ payment_intent: p.payment_intent_id, limit: '100' }).reply(200, { object: 'list', url: '/v1/refunds', has_more: false, data: [stripeRefund] });
    const report = await sweepRefunds(knex, testEnv().config, testEnv().processor, 5);
    expect(report.submitted).to.be.at.least(1);
    expect(calls.map((c) => c.key), 'sent once, found after').to.deep.equal([`courtpay-refund-${req.body.id}`]);
    expect(await refundRow(req.body.id)).to.include({ status: 'succeeded', processor_refund_id: stripeRefund.id });
    expect(Number((await knex('ledger_transactions').where({ payment_id: p.id, kind: 'refund_settled' }).count('* as n'))[0].n)).to.equal(1);
  });

  it('when Stripe answers 500 or times out, then the refund stays submitted (never guessed failed) and the sweep settles it', async () => {
    const { knex } = testEnv();
    const p = await paid();
    const req = await request(p.public_id, { amount: 900, reasonCode: 'overpayment' });
    stripeRefunds(() => [500, { error: { type: 'api_error', message: 'Stripe had a moment' } }]);
    const res = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver));
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('submitted');
    expect((await refundRow(req.body.id)).processor_refund_id).to.equal(null);
    await knex('refunds').where({ public_id: req.body.id }).update({ updated_at: new Date(Date.now() - 10 * 60_000) });
    const pendingAtStripe = aRefund({ amount: 900, status: 'pending', metadata: { refund_id: req.body.id } });
    // The 500 left nothing at the processor: the look-up finds no refund of ours, so it is sent again (same key).
    stripeApi().get('/v1/refunds').query({ payment_intent: p.payment_intent_id, limit: '100' }).reply(200, { object: 'list', url: '/v1/refunds', has_more: false, data: [] });
    stripeRefunds(() => [200, pendingAtStripe]);
    await sweepRefunds(knex, testEnv().config, testEnv().processor, 5);
    expect(await refundRow(req.body.id)).to.include({ status: 'submitted', processor_refund_id: pendingAtStripe.id, processor_status: 'pending' });
    await knex('refunds').where({ public_id: req.body.id }).update({ updated_at: new Date(Date.now() - 10 * 60_000) });
    stripeApi().get(`/v1/refunds/${pendingAtStripe.id}`).reply(200, { ...pendingAtStripe, status: 'succeeded' });
    await sweepRefunds(knex, testEnv().config, testEnv().processor, 5);
    expect((await refundRow(req.body.id)).status).to.equal('succeeded');
  });

  it('when a succeeded refund later fails (the bank returned it), then the ledger reverses, the amount is free again and finance sees it', async () => {
    const p = await paid();
    const req = await request(p.public_id, { amount: p.amount, reasonCode: 'duplicate_payment' });
    const calls = stripeRefunds(succeeded);
    await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).expect(200);
    expect(calls).to.have.length(1);
    const processorId = (await refundRow(req.body.id)).processor_refund_id;
    expect((await testEnv().knex('invoices').where({ id: p.invoice_id }).first()).status).to.equal('refunded');
    const failed = aRefund({ id: processorId, amount: p.amount, status: 'failed', failure_reason: 'lost_or_stolen_card', metadata: { refund_id: req.body.id } });
    await deliver(anEvent('refund.failed', failed)).expect(200);
    expect(await refundRow(req.body.id)).to.include({ status: 'failed' });
    expect(await testEnv().knex('invoices').where({ id: p.invoice_id }).first()).to.include({ refunded_amount: 0, status: 'paid' });
    const kinds = await testEnv().knex('ledger_transactions').where({ payment_id: p.id }).orderBy('id').pluck('kind');
    expect(kinds).to.deep.equal(['payment_settled', 'refund_settled', 'refund_returned']);
    const listed = await api().get('/v1/refunds?status=failed&courtCode=1411').set(auth(finance));
    expect(listed.body.data.map((r: { id: string }) => r.id)).to.include(req.body.id);
    expect((await request(p.public_id, { amount: p.amount, reasonCode: 'duplicate_payment' })).status, 'the amount is free again').to.equal(201);
  });

  it('when a refund webhook says pending, then it waits; a duplicate of the success changes nothing', async () => {
    const p = await paid();
    const req = await request(p.public_id, { amount: 1234, reasonCode: 'overpayment' });
    const processor = aRefund({ amount: 1234, status: 'pending', metadata: { refund_id: req.body.id } });
    stripeRefunds(() => [200, processor]);
    await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).expect(200);
    expect((await refundRow(req.body.id)).status).to.equal('submitted');
    await deliver(anEvent('refund.updated', { ...processor, status: 'requires_action' })).expect(200);
    expect((await refundRow(req.body.id)).status).to.equal('submitted');
    const done = anEvent('refund.updated', { ...processor, status: 'succeeded' });
    await deliver(done).expect(200);
    await deliver(anEvent('refund.updated', { ...processor, status: 'succeeded' })).expect(200);
    expect((await refundRow(req.body.id)).status).to.equal('succeeded');
    expect(Number((await testEnv().knex('ledger_transactions').where({ payment_id: p.id, kind: 'refund_settled' }).count('* as n'))[0].n)).to.equal(1);
  });

  it('when the payment is disputed, then it cannot be refunded and open requests on it are cancelled', async () => {
    const p = await paid();
    const open = await request(p.public_id, { amount: 100, reasonCode: 'overpayment' });
    await deliver(anEvent('charge.dispute.created', { id: `dp_${p.id}`, object: 'dispute', amount: p.amount, currency: 'cny', charge: p.charge_id, payment_intent: p.payment_intent_id, status: 'needs_response' })).expect(200);
    expect((await refundRow(open.body.id)).status).to.equal('cancelled');
    const res = await request(p.public_id, { amount: 100, reasonCode: 'overpayment' });
    expect(res.status).to.equal(409);
    expect(res.body.code).to.equal('payment_disputed');
  });
});
