import { addDays } from '../../src/courts/courts';
import { expect } from 'chai';
import { aCase, anInvoice, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

describe('deferral, reduction and exemption (缓交 / 减交 / 免交)', () => {
  let cs: string;
  const decision = { decisionRef: '(2026)晋0105民初1号决定书', decidedBy: '张法官', decidedAt: '2026-11-20' };
  before(async () => {
    cs = await keyFor('case_system', 'all');
  });

  it('when a deferral is recorded, then the due date moves and the amount stays', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const later = addDays(inv.dueDate, 90);
    const res = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'deferral', ...decision, newDueDate: later });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ dueDate: later, amount: inv.amount, statutoryAmount: inv.amount });
    expect(res.body.remissions[0]).to.include({ kind: 'deferral', decisionRef: decision.decisionRef, decidedBy: '张法官', decidedAt: '2026-11-20', newDueDate: later });
    const bad = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'deferral', ...decision, newDueDate: addDays(later, -30) });
    expect(bad.status).to.equal(422);
    expect(bad.body.errors[0].field).to.equal('newDueDate');
  });

  it('when a 30% reduction is recorded, then 70% is due (rounded half-up) with the statutory amount beside it', async () => {
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 1_000_100 }); // 5003 fen
    const res = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'reduction', ...decision, reductionPercent: 30 });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ statutoryAmount: 5003, amount: 3502, outstanding: 3502, status: 'unpaid' }); // 3502.1
    const second = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'reduction', ...decision, reductionPercent: 50 });
    expect(second.status).to.equal(409);
    expect((await testEnv().knex('invoices').where({ public_id: inv.id }).first()).amount_due).to.equal(3502);
  });

  it('when a natural person is exempted, then the invoice is settled at zero', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const res = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'exemption', ...decision });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ amount: 0, statutoryAmount: inv.amount, status: 'paid', outstanding: 0 });
    const audit = await testEnv().knex('audit_events').where({ entity_id: inv.id, action: 'invoice.remission.exemption' }).first();
    expect(audit.before.amount).to.equal(inv.amount);
    expect(audit.after.amount).to.equal(0);
  });

  it('when the payer is a company, then exemption is refused naming kind and nothing changes', async () => {
    const inv = await anInvoice(cs, await aCase(cs), { payer: { name: '某某有限公司', role: 'plaintiff', type: 'legal_person' } });
    const res = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'exemption', ...decision });
    expect(res.status).to.equal(422);
    expect(res.body.errors[0]).to.include({ field: 'kind', code: 'exemption_requires_natural_person' });
    expect(await testEnv().knex('invoice_remissions').join('invoices', 'invoices.id', 'invoice_remissions.invoice_id').where('invoices.public_id', inv.id).count('* as n')).to.deep.equal([{ n: 0 }]);
  });

  it('when the database is asked to record a reduction under 30%, then its CHECK refuses', async () => {
    const inv = await anInvoice(cs, await aCase(cs));
    const row = await testEnv().knex('invoices').where({ public_id: inv.id }).first();
    let err: Error | null = null;
    try {
      await testEnv().knex('invoice_remissions').insert({ invoice_id: row.id, kind: 'reduction', decision_ref: 'x', decided_by: 'y', decided_at: '2026-11-20', reduction_percent: 10, amount_due_before: 1, amount_due_after: 1 });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/check constraint/);
  });
});
