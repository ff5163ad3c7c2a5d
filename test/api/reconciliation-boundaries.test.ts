import { expect } from 'chai';
import crypto from 'node:crypto';
import nock from 'nock';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { COURT, dayOf, itemsOf, lineFor, reconcile, settledOn, type Line } from '../support/reconciliation-fixtures';
import { aRefund, formBody, stripeApi } from '../support/stripe';
import type { CourtDay } from '../../src/reconciliation/court-day';
import type { ReconcileOutcome } from '../../src/reconciliation/run';
import { post, transfer } from '../../src/ledger/ledger';
import { backfillLedgerRefunds } from '../../db/migrations/20261201070000_reconciliation_across_days';

/**
 * Reconciliation against processor lines our code did not write: Stripe's balance transactions as
 * its own API examples have them (stripe-mock's fixtures: the shape, with ids and amounts of the
 * scenario), a charge with empty metadata, lines on the day before our settlement time, and runs at
 * 02:00 with the clock injected.
 */
const rnd = () => crypto.randomBytes(6).toString('hex');
const HOUR = 3600_000;

/** Stripe's example balance_transaction with its charge expanded (stripe-mock fixtures3.json), made a charge of `amount` fen at `created`. */
function stripeExampleCharge(amount: number, created: number, o: { metadata?: Record<string, string>; paymentIntent?: string | null } = {}) {
  const fee = Math.round(amount * 0.006);
  const charge = `ch_${rnd()}`;
  return {
    amount, available_on: created + 2 * 86400, created, currency: 'cny', description: 'My First Test Charge (created for API docs)', exchange_rate: null,
    fee, fee_details: [], id: `txn_${rnd()}`, net: amount - fee, object: 'balance_transaction', reporting_category: 'charge', status: 'available', type: 'charge',
    balance_type: 'payments',
    source: {
      amount, amount_captured: amount, amount_refunded: 0, application: null, balance_transaction: null, billing_details: { name: 'Jenny Rosen' }, captured: true,
      created, currency: 'cny', customer: null, description: 'My First Test Charge (created for API docs)', disputed: false, id: charge, livemode: false,
      metadata: o.metadata ?? {}, object: 'charge', paid: true, payment_intent: o.paymentIntent ?? null, refunded: false, status: 'succeeded',
    },
  };
}

/** Stripe's example refund balance transaction (source expanded) for one of our refunds. */
function stripeExampleRefundLine(refund: { id: string; processorRefundId: string; amount: number }, chargeId: string, created: number) {
  return {
    amount: -refund.amount, available_on: created, created, currency: 'cny', description: null, exchange_rate: null, fee: 0, fee_details: [], id: `txn_${rnd()}`,
    net: -refund.amount, object: 'balance_transaction', reporting_category: 'refund', status: 'available', type: 'refund', balance_type: 'payments',
    source: {
      amount: refund.amount, balance_transaction: null, charge: chargeId, created, currency: 'cny', destination_details: { card: { type: 'reversal' }, type: 'card' },
      id: refund.processorRefundId, metadata: { refund_id: refund.id, court_code: COURT }, object: 'refund', payment_intent: null, reason: null, status: 'succeeded',
    },
  };
}

type AnyLine = Line | ReturnType<typeof stripeExampleCharge> | ReturnType<typeof stripeExampleRefundLine>;

/**
 * Stripe's lists for any number of days and every court's run of them (all courts share the
 * account, so each run lists the same window): the balance transactions created in the window
 * asked for, no payouts. Persisted until the test ends.
 */
function stubAccountDays(days: [CourtDay, AnyLine[]][]) {
  const stripe = nock('https://api.stripe.com').persist();
  stripe.get('/v1/balance_transactions').query((q) => !q.payout).reply((uri) => {
    const gte = Number(new URL(uri, 'https://api.stripe.com').searchParams.get('created[gte]'));
    const lines = days.find(([d]) => d.startEpoch === gte)?.[1] ?? [];
    return [200, { object: 'list', url: '/v1/balance_transactions', has_more: false, data: lines }];
  });
  stripe.get('/v1/payouts').query(true).reply(200, { object: 'list', url: '/v1/payouts', has_more: false, data: [] });
}

const completed = (r: ReconcileOutcome) => {
  if (r.outcome !== 'completed') throw new Error(`run ${r.outcome}: ${JSON.stringify(r)}`);
  return r;
};
const kinds = async (runId: number) => (await itemsOf(runId)).map((i) => `${i.kind}:${i.status}${i.grade ? `:${i.grade}` : ''}`);
/** 02:00 on the court-day after `day`, in the court's zone: when the nightly job runs. */
const nightAfter = (day: CourtDay) => new Date(day.end.getTime() + 2 * HOUR);

describe('reconciliation across day boundaries and foreign lines', () => {
  let caseKey: string;
  let financeAll: string;
  let financeCourt: string;
  before(async () => {
    caseKey = await keyFor('case_system', 'all');
    financeAll = await keyFor('finance', 'all');
    financeCourt = await keyFor('finance', [COURT]);
  });
  afterEach(() => nock.cleanAll());

  it('when the processor lists a charge with none of our metadata, then the account-level run counts all five lines to the fen and reports it, seen only by an all-courts finance key', async () => {
    const day = dayOf('2024-07-01');
    const paid = [await settledOn(caseKey, day), await settledOn(caseKey, day), await settledOn(caseKey, day), await settledOn(caseKey, day)];
    const ours = paid.map((p) => lineFor(day, p));
    const handMade = stripeExampleCharge(77700, day.startEpoch + 5 * 3600); // 777.00, made in the processor's dashboard
    const lines: AnyLine[] = [...ours, handMade];
    stubAccountDays([[day, lines]]);

    const res = await api().post('/v1/reconciliations').set(auth(financeAll)).send({ date: day.date });
    expect(res.status, res.text).to.equal(201);
    const court = res.body.data.find((r: { courtCode: string }) => r.courtCode === COURT);
    const account = res.body.data.find((r: { scope: string }) => r.scope === 'account');
    expect(court.totals.lines).to.equal(4);
    expect(court.counts).to.deep.equal({});
    expect(account).to.include({ courtCode: null, status: 'completed' });
    const sum = (k: 'amount' | 'fee' | 'net') => lines.reduce((s, l) => s + l[k], 0);
    expect(account.totals).to.include({ stagedLines: 5, lines: 5, allCounted: true, grossCollected: sum('amount'), processorFees: sum('fee'), net: sum('net'), refunded: 0 });
    expect(account.totals.byCourt[COURT]).to.deep.equal({ lines: 4, grossCollected: sum('amount') - 77700, refunded: 0, processorFees: sum('fee') - handMade.fee, net: sum('net') - handMade.net });
    expect(account.totals.unattributed).to.deep.equal({ lines: 1, grossCollected: 77700, refunded: 0, processorFees: handMade.fee, net: handMade.net });
    expect(account.checks.courtRuns.find((c: { courtCode: string }) => c.courtCode === COURT)).to.include({ runId: court.id, agrees: true });
    expect(account.counts).to.deep.equal({ unattributed_line: { total: 1, open: 1, healed: 0, resolved: 0 } });

    const items = await api().get(`/v1/reconciliations/${account.id}/items`).set(auth(financeAll));
    expect(items.status).to.equal(200);
    expect(items.body.data).to.have.length(1);
    expect(items.body.data[0]).to.include({ kind: 'unattributed_line', courtCode: null, balanceTransactionId: handMade.id, processorObjectId: handMade.source.id, actualAmount: 77700, currency: 'CNY', status: 'open' });
    const item = items.body.data[0].id;

    // A court's finance key: neither the run nor its line exists for it, and it cannot resolve the line.
    const listed = await api().get('/v1/reconciliations').query({ date: day.date }).set(auth(financeCourt));
    expect(listed.body.data.map((r: { courtCode: string }) => r.courtCode)).to.deep.equal([COURT]);
    expect((await api().get(`/v1/reconciliations/${account.id}`).set(auth(financeCourt))).status).to.equal(404);
    expect((await api().get(`/v1/reconciliations/${account.id}/items`).set(auth(financeCourt))).status).to.equal(404);
    const refused = await api().post(`/v1/reconciliation-items/${item}/resolve`).set(auth(financeCourt)).send({ note: 'not ours' });
    expect(refused.status).to.equal(404);
    expect((await testEnv().knex('reconciliation_items').where({ public_id: item }).first()).status).to.equal('open');
    const rerunByCourt = await api().post('/v1/reconciliations').set(auth(financeCourt)).send({ date: day.date });
    expect(rerunByCourt.body.data.map((r: { courtCode: string }) => r.courtCode)).to.deep.equal([COURT]);

    // The all-courts key sees it in the list and may resolve it.
    const all = await api().get('/v1/reconciliations').query({ date: day.date, scope: 'account' }).set(auth(financeAll));
    expect(all.body.data.map((r: { id: string }) => r.id)).to.deep.equal([account.id]);
    const resolved = await api().post(`/v1/reconciliation-items/${item}/resolve`).set(auth(financeAll)).send({ note: 'a manual charge by the bank; refunded by hand' });
    expect(resolved.status, resolved.text).to.equal(200);
    expect(resolved.body.status).to.equal('resolved');
  });

  it('when a payment at 23:59:58 has its webhook at 00:00:03 and the night runs at 02:00, then neither night reports it and each night closes', async () => {
    const day = dayOf('2024-07-03');
    const next = dayOf('2024-07-04');
    const p = await settledOn(caseKey, day);
    await testEnv().knex('payments').where({ id: p.id }).update({ settled_at: new Date(next.start.getTime() + 3000) });
    const line = { ...lineFor(day, p), created: day.endEpoch - 2 };
    stubAccountDays([[day, [line]], [next, []]]);

    const first = completed(await reconcile(day.date, { now: nightAfter(day) }));
    expect(await kinds(first.run.id)).to.deep.equal([]);
    expect(first.run.totals).to.deep.include({ lines: 1, grossCollected: p.amount });
    expect((first.run.totals as any).clearing).to.include({ difference: 0, closed: true });
    expect((first.run.checks as any).otherDays).to.deep.equal({ lines: 1, itemsResolvedOnOtherDays: 0 });

    const second = completed(await reconcile(next.date, { now: nightAfter(next) }));
    expect(await kinds(second.run.id)).to.deep.equal([]);
    expect((second.run.totals as any).clearing).to.include({ difference: 0, closed: true });
  });

  it('when the later day is reconciled first, then its missing_at_processor is resolved by the run that finds the line, audited', async () => {
    const day = dayOf('2024-07-05');
    const next = dayOf('2024-07-06');
    const p = await settledOn(caseKey, day);
    await testEnv().knex('payments').where({ id: p.id }).update({ settled_at: new Date(next.start.getTime() + 3000) });
    stubAccountDays([[day, [{ ...lineFor(day, p), created: day.endEpoch - 2 }]], [next, []]]);

    const early = completed(await reconcile(next.date, { now: nightAfter(next) }));
    expect(await kinds(early.run.id)).to.deep.equal(['missing_at_processor:open:late']);
    const found = completed(await reconcile(day.date, { now: nightAfter(next) }));
    expect(await kinds(found.run.id)).to.deep.equal([]);
    expect((found.run.checks as any).otherDays).to.deep.equal({ lines: 1, itemsResolvedOnOtherDays: 1 });
    const [item] = await itemsOf(early.run.id);
    expect(item).to.include({ status: 'resolved', resolved_by: `reconciliation:${found.run.public_id}` });
    expect(item.resolution_note).to.contain(day.date);
    const audit = await testEnv().knex('audit_events').where({ entity_id: item.public_id, action: 'reconciliation_item.resolved' });
    expect(audit).to.have.length(1);
  });

  it('when the webhook never came and the night healed the payment from a line without our metadata on the day before, then the next night does not report it', async () => {
    const day = dayOf('2024-07-07');
    const next = dayOf('2024-07-08');
    const pending = await settledOn(caseKey, day, { settle: false });
    const line = stripeExampleCharge(pending.amount, day.endEpoch - 600, { paymentIntent: pending.payment_intent_id }); // no metadata: found by its PaymentIntent
    stubAccountDays([[day, [line]], [next, []]]);

    const night = completed(await reconcile(day.date, { now: nightAfter(day) }));
    expect(await kinds(night.run.id)).to.deep.equal(['missing_in_ledger:healed']);
    expect((night.run.checks as any).otherDays.lines).to.equal(1);
    // The heal stamps its own clock as the settlement time: at the night's run, that is 02:00 of the next court-day.
    await testEnv().knex('payments').where({ id: pending.id }).update({ settled_at: nightAfter(day) });
    const after = completed(await reconcile(next.date, { now: nightAfter(next) }));
    expect(await kinds(after.run.id)).to.deep.equal([]);
  });

  it('when a refund\'s line is on the day before its settlement, then the run heals it by the ledger\'s refund key, a rerun finds the heal, and the next night does not report it', async () => {
    const before = dayOf('2024-07-09');
    const day = dayOf('2024-07-10');
    const next = dayOf('2024-07-11');
    const p = await settledOn(caseKey, before);
    const clerk = await keyFor('clerk', [COURT]);
    const approver = await keyFor('approver', [COURT]);
    const req = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: 100, reasonCode: 'overpayment' });
    expect(req.status, req.text).to.equal(201);
    const processorRefundId = `re_${rnd()}`;
    stripeApi().post('/v1/refunds').reply((_u, body) => [200, aRefund({ id: processorRefundId, amount: Number(formBody(body).amount), status: 'pending', charge: p.charge_id })]);
    const ok = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).send({});
    expect(ok.status, ok.text).to.equal(200);
    nock.cleanAll();
    const refund = await testEnv().knex('refunds').where({ public_id: req.body.id }).first();
    expect(refund.status).to.equal('submitted');
    const line = stripeExampleRefundLine({ id: refund.public_id, processorRefundId, amount: 100 }, p.charge_id, day.endEpoch - 2);
    stubAccountDays([[day, [line]], [next, []]]);

    for (const attempt of [1, 2]) {
      const r = completed(await reconcile(day.date, { now: nightAfter(day) }));
      expect(r.run.attempt).to.equal(attempt);
      expect(await kinds(r.run.id)).to.deep.equal(['missing_in_ledger:healed']);
    }
    const settled = await testEnv().knex('ledger_transactions').where({ kind: 'refund_settled', payment_id: p.id });
    expect(settled.map((t) => t.refund_id)).to.deep.equal([refund.id]);
    expect((await testEnv().knex('refunds').where({ id: refund.id }).first()).status).to.equal('succeeded');

    await testEnv().knex('refunds').where({ id: refund.id }).update({ succeeded_at: new Date(next.start.getTime() + 3000) });
    const after = completed(await reconcile(next.date, { now: nightAfter(next) }));
    expect(await kinds(after.run.id)).to.deep.equal([]);
  });
});

describe('ledger transactions carry their refund', () => {
  it('when refund postings written before the refund column carry only their description, then the migration\'s backfill gives each its refund and no other row one', async () => {
    const { knex } = testEnv();
    const caseKey = await keyFor('case_system', 'all');
    const clerk = await keyFor('clerk', [COURT]);
    const approver = await keyFor('approver', [COURT]);
    const p = await settledOn(caseKey, dayOf('2024-07-20'));
    const req = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: 100, reasonCode: 'overpayment' });
    expect(req.status, req.text).to.equal(201);
    stripeApi().post('/v1/refunds').reply((_u, body) => [200, aRefund({ amount: Number(formBody(body).amount), status: 'succeeded', metadata: { refund_id: req.body.id } })]);
    expect((await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).send({})).status).to.equal(200);
    nock.cleanAll();
    const refund = await knex('refunds').where({ public_id: req.body.id }).first();
    expect(refund.status).to.equal('succeeded');
    expect((await knex('ledger_transactions').where({ kind: 'refund_settled', payment_id: p.id })).map((t) => t.refund_id)).to.deep.equal([refund.id]);

    // The rows the version before wrote: the refund only in the text.
    const [old, other] = await knex.transaction(async (tx) => [
      await post(tx, { kind: 'refund_returned', courtCode: COURT, invoiceId: p.invoice_id, paymentId: p.id, source: 'test:before', description: `refund ${refund.public_id} returned`, lines: transfer('processor_clearing', 'fee_income', 100) }),
      await post(tx, { kind: 'refund_settled', courtCode: COURT, invoiceId: p.invoice_id, paymentId: p.id, source: 'test:before', description: 'refund rf_nosuchrefund', lines: transfer('fee_income', 'processor_clearing', 100) }),
    ]);
    expect(await backfillLedgerRefunds(knex)).to.equal(1);
    expect((await knex('ledger_transactions').where({ id: old }).first()).refund_id).to.equal(refund.id);
    expect((await knex('ledger_transactions').where({ id: other }).first()).refund_id).to.equal(null);
    // Still append-only afterwards.
    let refused: Error | null = null;
    await knex('ledger_transactions').where({ id: other }).update({ description: 'changed' }).catch((e: Error) => (refused = e));
    expect(refused).to.not.equal(null);
  });
});

describe('open and overdue refunds: one definition', () => {
  it('when refunds due on a day are requested, rejected and failed, then the refund list, each refund and the reconciliation all call only the requested one overdue', async () => {
    const day = dayOf('2024-07-15');
    const caseKey = await keyFor('case_system', 'all');
    const clerk = await keyFor('clerk', [COURT]);
    const approver = await keyFor('approver', [COURT]);
    const finance = await keyFor('finance', [COURT]);
    const p = await settledOn(caseKey, dayOf('2024-07-01'));
    await testEnv().knex('payments').where({ id: p.id }).update({ settled_at: new Date() });
    const ask = async () => {
      const r = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: 100, reasonCode: 'overpayment' });
      expect(r.status, r.text).to.equal(201);
      return r.body.id as string;
    };
    const open = await ask();
    const rejected = await ask();
    expect((await api().post(`/v1/refunds/${rejected}/reject`).set(auth(approver)).send({ note: 'not owed' })).status).to.equal(200);
    const failed = await ask();
    stripeApi().post('/v1/refunds').reply((_u, body) => [200, aRefund({ amount: Number(formBody(body).amount), status: 'failed', failure_reason: 'expired_or_canceled_card' })]);
    expect((await api().post(`/v1/refunds/${failed}/approve`).set(auth(approver)).send({})).status).to.equal(200);
    nock.cleanAll();
    expect((await testEnv().knex('refunds').where({ public_id: failed }).first()).status).to.equal('failed');
    await testEnv().knex('refunds').whereIn('public_id', [open, rejected, failed]).update({ due_date: day.date, origin: 'statutory' });

    const mine = (rows: { id: string }[]) => rows.map((r) => r.id).filter((id) => [open, rejected, failed].includes(id)).sort();
    const overdue = await api().get('/v1/refunds').query({ overdue: true, paymentId: p.public_id }).set(auth(finance));
    expect(mine(overdue.body.data)).to.deep.equal([open]);
    const notOverdue = await api().get('/v1/refunds').query({ overdue: false, paymentId: p.public_id }).set(auth(finance));
    expect(mine(notOverdue.body.data)).to.deep.equal([rejected, failed].sort());
    for (const [id, want] of [[open, true], [rejected, false], [failed, false]] as const) {
      expect((await api().get(`/v1/refunds/${id}`).set(auth(finance))).body.overdue, id).to.equal(want);
    }

    nock('https://api.stripe.com').get('/v1/balance_transactions').query(true).reply(200, { object: 'list', has_more: false, data: [] })
      .get('/v1/payouts').query(true).reply(200, { object: 'list', has_more: false, data: [] });
    const r = completed(await reconcile(day.date, { now: nightAfter(day) }));
    const items = await itemsOf(r.run.id);
    expect(items.filter((i) => i.kind === 'refund_overdue').map((i) => i.item_key)).to.deep.equal([`refund:${open}`]);
  });
});
