import { expect } from 'chai';
import nock from 'nock';
import { aCase, anInvoice, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { COURT, configWith, dayOf, itemsOf, lineFor, reconcile, settledOn, stubProcessorDay } from '../support/reconciliation-fixtures';

const kinds = async (runId: number) => (await itemsOf(runId)).map((i) => `${i.kind}:${i.status}${i.grade ? `:${i.grade}` : ''}`);

describe('reconciliation: a court-day against the processor and the case records', () => {
  let caseKey: string;
  let clerkKey: string;
  before(async () => {
    caseKey = await keyFor('case_system', 'all');
    clerkKey = await keyFor('clerk', 'all');
  });
  afterEach(() => nock.cleanAll());

  it('when every line matches, then no discrepancy, fees posted once, clearing closes to the fen against the payout', async () => {
    const day = dayOf('2025-01-06');
    const paid = [await settledOn(caseKey, day), await settledOn(caseKey, day), await settledOn(caseKey, day)];
    const lines = paid.map((p) => lineFor(day, p));
    const net = lines.reduce((s, l) => s + l.net, 0);
    stubProcessorDay(lines, [{ id: 'po_allmatched', amount: net, lines }]);
    const first = await reconcile(day.date);
    expect(first.outcome).to.equal('completed');
    if (first.outcome !== 'completed') return;
    expect(await itemsOf(first.run.id)).to.deep.equal([]);
    const totals = first.run.totals as Record<string, any>;
    expect(totals.lines).to.equal(3);
    expect(totals.grossCollected).to.equal(paid.reduce((s, p) => s + p.amount, 0));
    expect(totals.processorFees).to.equal(lines.reduce((s, l) => s + l.fee, 0));
    expect(totals.net).to.equal(net);
    expect(totals.clearing).to.include({ difference: 0, closed: true });
    expect(totals.payouts).to.deep.equal([{ id: 'po_allmatched', amount: net, currency: 'CNY', status: 'paid', arrivalDate: new Date(1_700_000_000_000).toISOString(), transactionsNet: net, transactions: 3, courtNet: net, matches: true }]);

    stubProcessorDay(lines, [{ id: 'po_allmatched', amount: net, lines }]);
    const again = await reconcile(day.date);
    expect(again.outcome).to.equal('completed');
    if (again.outcome !== 'completed') return;
    expect(again.run.id).to.equal(first.run.id);
    expect(again.run.attempt).to.equal(2);
    expect((again.run.totals as Record<string, number>).feesPostedThisRun).to.equal(0);
    const postings = await testEnv().knex('reconciliation_fee_postings').where({ court_code: COURT, business_date: day.date });
    expect(postings.map((p) => p.amount)).to.deep.equal([totals.processorFees]);
  });

  it('when agreeing lines sit beside lines looked up, healed or left out, then the totals count exactly the court\'s lines, on a rerun too', async () => {
    const day = dayOf('2025-01-28');
    const plain = await settledOn(caseKey, day);
    const earlier = await settledOn(caseKey, dayOf('2025-01-29')); // a day no run here reconciles
    const pending = await settledOn(caseKey, day, { settle: false });
    const unmarked = (l: ReturnType<typeof lineFor>) => ({ ...l, source: { ...l.source, metadata: {} as typeof l.source.metadata } }); // no metadata at all
    const counted = [lineFor(day, plain), unmarked(lineFor(day, earlier)), lineFor(day, { ...pending, charge_id: 'ch_healme' + pending.id })];
    const otherCourt = lineFor(day, null, { amount: 5000 });
    otherCourt.source.metadata.court_code = '1401';
    const lines = [...counted, otherCourt, unmarked(lineFor(day, null, { amount: 700 }))];
    const expected = {
      lines: 3, grossCollected: plain.amount + earlier.amount + pending.amount, processorFees: counted.reduce((s, l) => s + l.fee, 0), net: counted.reduce((s, l) => s + l.net, 0),
    };
    for (const attempt of [1, 2]) {
      stubProcessorDay(lines);
      const r = await reconcile(day.date);
      if (r.outcome !== 'completed') throw new Error(`${r.outcome} ${r.outcome === 'failed' ? r.run.failure_reason : ''}`);
      expect(r.run.attempt).to.equal(attempt);
      expect(await kinds(r.run.id)).to.deep.equal(['missing_in_ledger:healed']);
      expect(r.run.totals as any).to.include(expected);
      expect((r.run.totals as any).clearing).to.include({ difference: 0, closed: true });
    }
  });

  it('when a line belongs to no payment of ours, then exactly one missing_in_ledger, open', async () => {
    const day = dayOf('2025-01-07');
    stubProcessorDay([lineFor(day, null, { amount: 777 })]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['missing_in_ledger:open']);
  });

  it('when the webhook was missed, then the run settles the payment through the webhook path and records it healed, on a rerun too', async () => {
    const day = dayOf('2025-01-08');
    const pending = await settledOn(caseKey, day, { settle: false });
    const line = lineFor(day, { ...pending, charge_id: 'ch_healme' + pending.id });
    stubProcessorDay([line]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['missing_in_ledger:healed']);
    const payment = await testEnv().knex('payments').where({ id: pending.id }).first();
    expect(payment).to.include({ status: 'succeeded', settled_amount: pending.amount });
    const invoice = await testEnv().knex('invoices').where({ id: pending.invoice_id }).first();
    expect(invoice.status).to.equal('paid');
    expect((r.run.totals as any).clearing.closed).to.equal(true);

    stubProcessorDay([line]);
    const again = await reconcile(day.date);
    if (again.outcome !== 'completed') throw new Error(again.outcome);
    expect(await kinds(again.run.id)).to.deep.equal(['missing_in_ledger:healed']);
    const settlements = await testEnv().knex('ledger_transactions').where({ payment_id: pending.id, kind: 'payment_settled' });
    expect(settlements).to.have.length(1);
  });

  it('when we hold a payment settled that the processor has no line for, then missing_at_processor: late within the grace, missing after', async () => {
    const day = dayOf('2025-01-09');
    await settledOn(caseKey, day);
    stubProcessorDay([]);
    const late = await reconcile(day.date, { now: new Date(day.end.getTime() + 3600_000) });
    if (late.outcome !== 'completed') throw new Error(late.outcome);
    expect(await kinds(late.run.id)).to.deep.equal(['missing_at_processor:open:late']);
    stubProcessorDay([]);
    const missing = await reconcile(day.date);
    if (missing.outcome !== 'completed') throw new Error(missing.outcome);
    expect(await kinds(missing.run.id)).to.deep.equal(['missing_at_processor:open:missing']);
  });

  it('when the processor settled another amount, then exactly one amount_mismatch', async () => {
    const day = dayOf('2025-01-10');
    const p = await settledOn(caseKey, day);
    stubProcessorDay([lineFor(day, p, { amount: p.amount - 1 })]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    const items = await itemsOf(r.run.id);
    expect(items.map((i) => i.kind)).to.deep.equal(['amount_mismatch']);
    expect(items[0]).to.include({ expected_amount: p.amount, actual_amount: p.amount - 1 });
    expect((r.run.totals as any).clearing.closed).to.equal(false);
  });

  it('when the processor settled in another currency, then exactly one currency_mismatch', async () => {
    const day = dayOf('2025-01-11');
    const p = await settledOn(caseKey, day);
    stubProcessorDay([lineFor(day, p, { currency: 'usd' })]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['currency_mismatch:open']);
  });

  it('when one invoice was paid twice, then exactly one duplicate_payment for it', async () => {
    const day = dayOf('2025-01-13');
    const first = await settledOn(caseKey, day);
    const second = await settledOn(caseKey, day, { caseNumber: first.caseNumber, invoiceId: first.invoicePublicId, amount: first.amount });
    stubProcessorDay([lineFor(day, first), lineFor(day, second)]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    const items = await itemsOf(r.run.id);
    expect(items.map((i) => i.kind)).to.deep.equal(['duplicate_payment']);
    expect(items[0]).to.include({ invoice_id: first.invoice_id, case_number: first.caseNumber, expected_amount: first.amount, actual_amount: 2 * first.amount });
  });

  it('when an invoice was paid twice and a refund of part of the second is under way, then duplicate_payment counts only what is still held beyond it; refunding all of it leaves none', async () => {
    const day = dayOf('2025-01-12');
    const first = await settledOn(caseKey, day);
    const second = await settledOn(caseKey, day, { caseNumber: first.caseNumber, invoiceId: first.invoicePublicId, amount: first.amount });
    const part = await api().post(`/v1/payments/${second.public_id}/refunds`).set(auth(clerkKey)).send({ amount: 100, reasonCode: 'duplicate_payment' });
    expect(part.status, part.text).to.equal(201);
    stubProcessorDay([lineFor(day, first), lineFor(day, second)]);
    let r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    const items = await itemsOf(r.run.id);
    expect(items.map((i) => i.kind)).to.deep.equal(['duplicate_payment']);
    expect(items[0]).to.include({ expected_amount: first.amount, actual_amount: 2 * first.amount - 100 });
    const rest = await api().post(`/v1/payments/${second.public_id}/refunds`).set(auth(clerkKey)).send({ amount: first.amount - 100, reasonCode: 'duplicate_payment' });
    expect(rest.status, rest.text).to.equal(201);
    stubProcessorDay([lineFor(day, first), lineFor(day, second)]);
    r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await itemsOf(r.run.id)).to.deep.equal([]);
  });

  it('when a payout differs from the sum of its transactions, then exactly one payout_mismatch', async () => {
    const day = dayOf('2025-01-14');
    const p = await settledOn(caseKey, day);
    const line = lineFor(day, p);
    stubProcessorDay([line], [{ id: 'po_short', amount: line.net - 5, lines: [line] }]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    const items = await itemsOf(r.run.id);
    expect(items.map((i) => i.kind)).to.deep.equal(['payout_mismatch']);
    expect(items[0]).to.include({ payout_id: 'po_short', expected_amount: line.net - 5, actual_amount: line.net });
    expect((r.run.totals as any).clearing.closed).to.equal(false);
  });

  it('when money settled after the case was withdrawn, then exactly one paid_after_case_closed', async () => {
    const day = dayOf('2025-01-15');
    const p = await settledOn(caseKey, day);
    const res = await api().post(`/v1/cases/${enc(p.caseNumber)}/outcome`).set(auth(caseKey)).send({ outcome: 'withdrawn', effectiveDate: '2025-01-14' });
    expect(res.status).to.equal(201);
    stubProcessorDay([lineFor(day, p)]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['paid_after_case_closed:open']);
  });

  it('when the half a withdrawn case still owes is paid after the withdrawal, then that is no finding', async () => {
    const day = dayOf('2025-01-19');
    const caseNumber = await aCase(caseKey, { courtCode: COURT });
    const inv = await anInvoice(caseKey, caseNumber, { feeKind: 'acceptance_labour' });
    const res = await api().post(`/v1/cases/${enc(caseNumber)}/outcome`).set(auth(caseKey)).send({ outcome: 'withdrawn', effectiveDate: '2025-01-18' });
    expect(res.body.invoicesLowered).to.deep.equal([{ id: inv.id, amountBefore: inv.amount, amountAfter: inv.amount / 2, status: 'unpaid' }]);
    const p = await settledOn(caseKey, day, { caseNumber, invoiceId: inv.id, amount: inv.amount / 2 });
    stubProcessorDay([lineFor(day, p)]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await itemsOf(r.run.id)).to.deep.equal([]);
  });

  it('when a statutory refund falls due unpaid, then exactly one refund_overdue', async () => {
    const day = dayOf('2025-01-16');
    const p = await settledOn(caseKey, dayOf('2025-01-01'));
    await testEnv().knex('payments').where({ id: p.id }).update({ settled_at: new Date() });
    const refund = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerkKey)).send({ amount: 100, reasonCode: 'overpayment' });
    expect(refund.status).to.equal(201);
    await testEnv().knex('refunds').where({ public_id: refund.body.id }).update({ due_date: day.date, origin: 'statutory' });
    stubProcessorDay([]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['refund_overdue:open']);
  });

  it('when an invoice falls due unpaid on an open case, then exactly one unpaid_overdue', async () => {
    const day = dayOf('2025-01-17');
    const caseNumber = await aCase(caseKey, { courtCode: COURT });
    const inv = await anInvoice(caseKey, caseNumber, { feeKind: 'acceptance_labour' });
    await testEnv().knex('invoices').where({ public_id: inv.id }).update({ notice_date: '2025-01-10', due_date: day.date });
    stubProcessorDay([]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    const items = await itemsOf(r.run.id);
    expect(items.map((i) => i.kind)).to.deep.equal(['unpaid_overdue']);
    expect(items[0].case_number).to.equal(caseNumber);
  });

  it('when the case system holds another fee status, then exactly one case_record_mismatch; when it is down, the check is skipped', async () => {
    const day = dayOf('2025-01-20');
    const p = await settledOn(caseKey, day);
    const config = configWith({ caseRecordsUrl: 'https://cases.example/fee-records' });
    nock('https://cases.example').get('/fee-records').query({ courtCode: COURT, date: day.date })
      .reply(200, { data: [{ caseNumber: p.caseNumber, invoiceId: p.invoicePublicId, status: 'unpaid', paidAmount: 0 }] });
    stubProcessorDay([lineFor(day, p)]);
    const r = await reconcile(day.date, { config });
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect(await kinds(r.run.id)).to.deep.equal(['case_record_mismatch:open']);
    expect(r.run.checks).to.deep.include({ caseRecords: { status: 'checked', records: 1 } });

    nock('https://cases.example').get('/fee-records').query(true).reply(503, 'down');
    stubProcessorDay([lineFor(day, p)]);
    const down = await reconcile(day.date, { config });
    if (down.outcome !== 'completed') throw new Error(down.outcome);
    expect(await kinds(down.run.id)).to.deep.equal([]);
    expect((down.run.checks as any).caseRecords).to.deep.equal({ status: 'skipped', reason: 'case records endpoint answered HTTP 503' });
  });

  it('when several discrepancies are found and the day is rerun, then the lines are identical', async () => {
    const day = dayOf('2025-01-21');
    const a = await settledOn(caseKey, day);
    await settledOn(caseKey, day);
    const lines = [lineFor(day, a, { amount: a.amount + 3 }), lineFor(day, null, { amount: 500 })];
    const shape = async (runId: number) => (await itemsOf(runId)).map(({ kind, item_key, status, grade, expected_amount, actual_amount, payment_id, invoice_id, detail }) => ({ kind, item_key, status, grade, expected_amount, actual_amount, payment_id, invoice_id, detail }));
    stubProcessorDay(lines);
    const first = await reconcile(day.date);
    if (first.outcome !== 'completed') throw new Error(first.outcome);
    const before = await shape(first.run.id);
    expect(before.map((i) => i.kind)).to.deep.equal(['amount_mismatch', 'missing_at_processor', 'missing_in_ledger']);
    stubProcessorDay(lines);
    const second = await reconcile(day.date);
    if (second.outcome !== 'completed') throw new Error(second.outcome);
    expect(await shape(second.run.id)).to.deep.equal(before);
  });

  it('when Stripe fails mid-run, then the run is failed with the reason and shows no lines; a rerun starts clean', async () => {
    const day = dayOf('2025-01-22');
    const paid = [await settledOn(caseKey, day), await settledOn(caseKey, day), await settledOn(caseKey, day)];
    const lines = paid.map((p) => lineFor(day, p));
    stubProcessorDay(lines, [], { failPage: 1 });
    const failed = await reconcile(day.date);
    expect(failed.outcome).to.equal('failed');
    if (failed.outcome !== 'failed') return;
    expect(failed.run.failure_reason).to.match(/processor error .*bad day/);
    const finance = await keyFor('finance', [COURT]);
    const items = await api().get(`/v1/reconciliations/${failed.run.public_id}/items`).set(auth(finance));
    expect(items.status).to.equal(409);
    const run = await api().get(`/v1/reconciliations/${failed.run.public_id}`).set(auth(finance));
    expect(run.body).to.include({ status: 'failed', totals: null });
    const stages = await testEnv().knex.raw(`select count(*)::int as n from pg_tables where tablename like 'reconciliation_stage_${failed.run.id}%'`);
    expect(stages.rows[0].n).to.equal(0);

    stubProcessorDay(lines);
    const rerun = await reconcile(day.date);
    expect(rerun.outcome).to.equal('completed');
    if (rerun.outcome === 'completed') expect(await itemsOf(rerun.run.id)).to.deep.equal([]);
  });

  it('when two instances start the same court-day at once, then one runs it and the other is told it is already running', async () => {
    const day = dayOf('2025-01-23');
    stubProcessorDay([]);
    const outcomes = await Promise.all([reconcile(day.date), reconcile(day.date)]);
    expect(outcomes.map((o) => o.outcome).sort()).to.deep.equal(['already_running', 'completed']);
  });

  it('when a run crashed and was left running, then a rerun after it went stale takes the day over', async () => {
    const day = dayOf('2025-01-24');
    stubProcessorDay([]);
    const r = await reconcile(day.date);
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    await testEnv().knex('reconciliation_runs').where({ id: r.run.id }).update({ status: 'running', started_at: new Date(Date.now() - 3600_000) });
    stubProcessorDay([]);
    const again = await reconcile(day.date);
    expect(again.outcome).to.equal('completed');
  });

  const REPORT_HEADER = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,charge_id,payment_intent_id,payment_metadata[payment_id],payment_metadata[court_code],refund_metadata[refund_id],refund_metadata[court_code]';
  const stubReportFile = (csv: string) => {
    const stripe = nock('https://api.stripe.com');
    stripe.post('/v1/reporting/report_runs', (body) => String(JSON.stringify(body)).includes('balance_change_from_activity.itemized.3')).reply(200, { id: 'frr_1', object: 'reporting.report_run', status: 'pending', result: null });
    stripe.get('/v1/reporting/report_runs/frr_1').reply(200, { id: 'frr_1', object: 'reporting.report_run', status: 'succeeded', result: { id: 'file_1', object: 'file', url: 'https://files.stripe.com/v1/files/file_1/contents' } });
    stripe.get('/v1/payouts').query(true).reply(200, { object: 'list', has_more: false, data: [] });
    nock('https://files.stripe.com', { reqheaders: { authorization: 'Bearer sk_test_courtpay' } }).get('/v1/files/file_1/contents').reply(200, csv, { 'content-type': 'text/csv' });
  };

  it('when the source is Stripe\'s report, then its CSV file is streamed into the same matching', async () => {
    const day = dayOf('2025-01-27');
    const a = await settledOn(caseKey, day);
    const b = await settledOn(caseKey, day);
    const csv = [
      REPORT_HEADER,
      `txn_r1,2025-01-26 20:00:00,cny,${(a.amount / 100).toFixed(2)},0.10,${((a.amount - 10) / 100).toFixed(2)},charge,${a.charge_id},${a.charge_id},${a.payment_intent_id},${a.public_id},${COURT},,`,
      `txn_r2,2025-01-26 21:00:00,cny,${((b.amount + 1) / 100).toFixed(2)},0.10,${((b.amount - 9) / 100).toFixed(2)},charge,"${b.charge_id}",${b.charge_id},${b.payment_intent_id},${b.public_id},${COURT},,`,
    ].join('\n') + '\n';
    stubReportFile(csv);
    const r = await reconcile(day.date, { config: configWith({ source: 'report' }) });
    if (r.outcome !== 'completed') throw new Error(`${r.outcome} ${r.outcome === 'failed' ? r.run.failure_reason : ''}`);
    expect(r.run.source).to.equal('report');
    expect(await kinds(r.run.id)).to.deep.equal(['amount_mismatch:open']);
    expect((r.run.totals as any)).to.include({ lines: 2, processorFees: 20, grossCollected: a.amount + b.amount + 1 });
  });

  it('when a row of Stripe\'s report file lacks a field, then the run fails saying so on either database, and finds and stages nothing', async () => {
    const day = dayOf('2025-01-28');
    const a = await settledOn(caseKey, day);
    const b = await settledOn(caseKey, day);
    const line = (p: typeof a, n: number) => `txn_s${n},2025-01-27 20:00:00,cny,${(p.amount / 100).toFixed(2)},0.10,${((p.amount - 10) / 100).toFixed(2)},charge,${p.charge_id},${p.charge_id},${p.payment_intent_id},${p.public_id},${COURT},,`;
    // The second line is one comma short: 13 fields under a header of 14.
    stubReportFile([REPORT_HEADER, line(a, 1), line(b, 2).slice(0, -1)].join('\r\n') + '\r\n');
    const r = await reconcile(day.date, { config: configWith({ source: 'report' }) });
    expect(r.outcome).to.equal('failed');
    if (r.outcome !== 'failed') return;
    // COPY on a server, csv-parse on the embedded database.
    expect(r.run.failure_reason).to.match(/missing data for column|Invalid Record Length: expect 14, got 13/);
    expect(r.run.totals).to.equal(null);
    expect(await itemsOf(r.run.id)).to.deep.equal([]);
    const stages = await testEnv().knex.raw(`select count(*)::int as n from pg_tables where tablename like 'reconciliation_stage_${r.run.id}%'`);
    expect(stages.rows[0].n).to.equal(0);
  });
});
