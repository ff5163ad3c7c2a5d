import { expect } from 'chai';
import nock from 'nock';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { COURT, dayOf, lineFor, settledOn, stubProcessorDay } from '../support/reconciliation-fixtures';
import { parseCsv } from '../../src/reconciliation/csv';

describe('reconciliation API: run now, read, export, resolve', () => {
  let finance: string;
  let caseKey: string;
  before(async () => {
    finance = await keyFor('finance', 'all');
    caseKey = await keyFor('case_system', 'all');
  });
  afterEach(() => nock.cleanAll());

  it('when the date is malformed, not a real day, or not yet over, then 422 naming date; an unknown court 422; a court out of scope 403', async () => {
    for (const date of ['2025-13-01', '25-01-01', '2025-02-30']) {
      const res = await api().post('/v1/reconciliations').set(auth(finance)).send({ date, courtCode: COURT });
      expect(res.status, date).to.equal(422);
      expect(res.body.errors[0].field).to.equal('date');
    }
    const future = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: '2999-01-01', courtCode: COURT });
    expect(future.status).to.equal(422);
    expect(future.body.errors[0]).to.include({ field: 'date', code: 'date_not_closed' });
    const unknown = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: '2025-01-01', courtCode: '9999' });
    expect(unknown.status).to.equal(422);
    const other = await api().post('/v1/reconciliations').set(auth(await keyFor('finance', ['1411']))).send({ date: '2025-01-01', courtCode: COURT });
    expect(other.status).to.equal(403);
    expect(other.headers['content-type']).to.match(/application\/problem\+json/);
  });

  it('when finance runs a day, then the run, its counts, its lines as JSON and as CSV, and resolving a line (audited)', async () => {
    const day = dayOf('2025-02-03');
    const p = await settledOn(caseKey, day);
    const line = lineFor(day, p, { amount: p.amount + 50 });
    stubProcessorDay([line]);
    const ran = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: day.date, courtCode: COURT });
    expect(ran.status).to.equal(201);
    const run = ran.body.data[0];
    expect(run).to.include({ courtCode: COURT, date: day.date, status: 'completed', source: 'list' });
    expect(run.counts).to.deep.equal({ amount_mismatch: { total: 1, open: 1, healed: 0, resolved: 0 } });
    expect(run.totals).to.include({ grossCollected: p.amount + 50, lines: 1 });

    const listed = await api().get(`/v1/reconciliations?date=${day.date}&courtCode=${COURT}&status=completed`).set(auth(finance));
    expect(listed.body.data.map((r: { id: string }) => r.id)).to.deep.equal([run.id]);
    const one = await api().get(`/v1/reconciliations/${run.id}`).set(auth(finance));
    expect(one.body.counts.amount_mismatch.total).to.equal(1);

    const items = await api().get(`/v1/reconciliations/${run.id}/items?kind=amount_mismatch`).set(auth(finance));
    expect(items.status).to.equal(200);
    const item = items.body.data[0];
    expect(item).to.include({ kind: 'amount_mismatch', status: 'open', caseNumber: p.caseNumber, invoiceId: p.invoicePublicId, paymentId: p.public_id, expectedAmount: p.amount, actualAmount: p.amount + 50, currency: 'CNY' });
    expect(items.body.nextCursor).to.equal(null);

    const csv = await api().get(`/v1/reconciliations/${run.id}/items`).set(auth(finance)).set('accept', 'text/csv');
    expect(csv.status).to.equal(200);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    const rows: (string | null)[][] = [];
    for await (const r of parseCsv([csv.text])) rows.push(r);
    expect(rows[0]).to.deep.equal(['item_id', 'run_id', 'court_code', 'date', 'kind', 'status', 'grade', 'case_number', 'invoice_id', 'payment_id', 'refund_id',
      'balance_transaction_id', 'processor_object_id', 'payment_intent_id', 'payout_id', 'expected_yuan', 'actual_yuan', 'currency', 'detail', 'resolution_note']);
    expect(rows).to.have.length(2);
    const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
    expect(rows[1].slice(0, 10)).to.deep.equal([item.id, run.id, COURT, day.date, 'amount_mismatch', 'open', '', p.caseNumber, p.invoicePublicId, p.public_id]);
    expect(rows[1][11]).to.equal(item.balanceTransactionId);
    expect(rows[1][12]).to.equal(p.charge_id);
    expect(rows[1][13]).to.equal(p.payment_intent_id);
    expect(rows[1].slice(15, 18)).to.deep.equal([yuan(p.amount), yuan(p.amount + 50), 'CNY']);

    const resolved = await api().post(`/v1/reconciliation-items/${item.id}/resolve`).set(auth(finance)).send({ note: 'the bank confirms the extra 0.50' });
    expect(resolved.status).to.equal(200);
    expect(resolved.body.status).to.equal('resolved');
    expect(resolved.body.resolution.note).to.equal('the bank confirms the extra 0.50');
    const audit = await testEnv().knex('audit_events').where({ entity_type: 'reconciliation_item', entity_id: item.id });
    expect(audit.map((a) => a.action)).to.deep.equal(['reconciliation_item.resolved']);
    const twice = await api().post(`/v1/reconciliation-items/${item.id}/resolve`).set(auth(finance)).send({ note: 'again' });
    expect(twice.status).to.equal(409);

    stubProcessorDay([line]);
    const rerun = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: day.date, courtCode: COURT });
    expect(rerun.body.data[0].counts).to.deep.equal({ amount_mismatch: { total: 1, open: 0, healed: 0, resolved: 1 } });
  });
});
