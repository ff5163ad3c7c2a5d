import { expect } from 'chai';
import { createApiKey } from '../../src/auth/api-key-store';
import { publicId } from '../../src/auth/keys';
import { aCase, anInvoice, aPayment, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { aPerson, csrfOf, signInCookie, type TestPerson } from '../support/staff';
import { aRefund, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

/** A caller: a key's Authorization header, or a browser session's cookie with its CSRF token. */
type Headers = Record<string, string>;

async function ownedKey(role: 'clerk' | 'approver' | 'finance', person: TestPerson): Promise<Headers> {
  const { key } = await createApiKey(testEnv().knex, testEnv().config.auth, { role, courts: 'all', name: `${person.login} ${role}`, owner: person.login }, 'system:test');
  return auth(key);
}

/** A fresh session of the person (signed in through the console's form), with the CSRF token its pages carry. */
async function session(person: TestPerson): Promise<Headers> {
  const cookie = await signInCookie(person);
  const home = await api().get('/console').set('cookie', cookie);
  expect(home.status, home.text).to.equal(200);
  return { cookie, 'x-csrf-token': csrfOf(home.text) };
}

const knex = () => testEnv().knex;
const count = async (table: string, where: Record<string, unknown> = {}) => Number((await knex()(table).where(where).count<{ n: string }[]>('* as n'))[0].n);

/** Everything a refused decision must leave as it was. */
async function refundSnapshot(refundId: string) {
  const refund = await knex()('refunds').where({ public_id: refundId }).first();
  return {
    refund,
    payment: await knex()('payments').where({ id: refund.payment_id }).first(),
    invoice: await knex()('invoices').where({ id: refund.invoice_id }).first(),
    ledgerTransactions: await count('ledger_transactions'),
    audit: await count('audit_events', { entity_type: 'refund', entity_id: refundId }),
  };
}

describe('maker-checker by person', () => {
  let cs: string;
  let alice: TestPerson;
  let bob: TestPerson;
  before(async () => {
    cs = await keyFor('case_system', 'all');
    alice = await aPerson({ roles: 'clerk,approver,finance', courts: 'all', name: '王芳' });
    bob = await aPerson({ roles: 'clerk,approver,finance', courts: 'all', name: '李强' });
  });
  afterEach(expectStripeStubsUsed);

  async function paid() {
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 5_000_000 });
    return aPayment(inv.id);
  }
  async function requested(by: Headers) {
    const p = await paid();
    const res = await api().post(`/v1/payments/${p.public_id}/refunds`).set(by).send({ amount: 30000, reasonCode: 'overpayment' });
    expect(res.status, res.text).to.equal(201);
    return res.body as { id: string; requestedByPerson: unknown };
  }

  describe('refunds', () => {
    const combinations: [string, () => Promise<Headers>, () => Promise<Headers>][] = [
      ['two keys with the same owner', () => ownedKey('clerk', alice), () => ownedKey('approver', alice)],
      ['a key, then a session of its owner', () => ownedKey('clerk', alice), () => session(alice)],
      ['a session, then a key its person owns', () => session(alice), () => ownedKey('approver', alice)],
      ['two sessions of the person', () => session(alice), () => session(alice)],
      ['one session (a person holding both roles)', () => session(alice), () => session(alice)],
    ];
    for (const [how, maker, checker] of combinations) {
      it(`when the requester approves or rejects their own refund through ${how}, then 403 own_refund_request and nothing changes`, async () => {
        const by = await maker();
        const r = await requested(by);
        const decider = how.startsWith('one session') ? by : await checker();
        const before = await refundSnapshot(r.id);
        const approve = await api().post(`/v1/refunds/${r.id}/approve`).set(decider).send({ note: 'mine' });
        expect(approve.status, approve.text).to.equal(403);
        expect(approve.body.code).to.equal('own_refund_request');
        const reject = await api().post(`/v1/refunds/${r.id}/reject`).set(decider).send({ note: 'mine' });
        expect(reject.status, reject.text).to.equal(403);
        expect(reject.body.code).to.equal('own_refund_request');
        expect(await refundSnapshot(r.id)).to.deep.equal(before);
      });
    }

    it('when a different person approves through their session, then the refund is paid and the refund and its history show both names', async () => {
      const r = await requested(await ownedKey('clerk', alice));
      expect(r.requestedByPerson).to.deep.equal({ login: alice.login, name: '王芳' });
      const calls: Record<string, string>[] = [];
      stripeApi().post('/v1/refunds').reply((_uri, body) => {
        const b = formBody(body);
        calls.push(b);
        return [200, aRefund({ amount: Number(b.amount), status: 'succeeded', metadata: { refund_id: b['metadata[refund_id]'] } })];
      });
      const ok = await api().post(`/v1/refunds/${r.id}/approve`).set(await session(bob)).send({ note: 'checked' });
      expect(ok.status, ok.text).to.equal(200);
      expect(ok.body.status).to.equal('succeeded');
      expect(calls).to.have.length(1);
      const row = await knex()('refunds').where({ public_id: r.id }).first();
      expect(row.requested_by).to.match(/^api_key:key_/);
      expect(row.approved_by).to.equal(`staff:${bob.login}`);
      expect(Number(row.requested_by_staff_id)).to.not.equal(Number(row.approved_by_staff_id));
      const shown = await api().get(`/v1/refunds/${r.id}`).set(await ownedKey('finance', bob));
      expect(shown.body).to.include({ requestedBy: row.requested_by, approvedBy: `staff:${bob.login}` });
      expect(shown.body.requestedByPerson).to.deep.equal({ login: alice.login, name: '王芳' });
      expect(shown.body.approvedByPerson).to.deep.equal({ login: bob.login, name: '李强' });
      const byAction = Object.fromEntries(shown.body.history.map((h: { action: string; person: unknown }) => [h.action, h.person]));
      expect(byAction['refund.requested']).to.deep.equal({ login: alice.login, name: '王芳' });
      expect(byAction['refund.approved']).to.deep.equal({ login: bob.login, name: '李强' });
    });

    it('when a key with no owner requested, then an approver key with no owner decides it (keys compared)', async () => {
      const clerk = auth(await keyFor('clerk', 'all'));
      const r = await requested(clerk);
      expect(r.requestedByPerson).to.equal(null);
      const rej = await api().post(`/v1/refunds/${r.id}/reject`).set(auth(await keyFor('approver', 'all'))).send({ note: 'not owed' });
      expect(rej.status, rej.text).to.equal(200);
      expect(rej.body).to.include({ status: 'rejected', rejectedByPerson: null });
    });

    it('when a row is altered in SQL so the approving person is the requesting one, then the database refuses it', async () => {
      const r = await requested(await ownedKey('clerk', alice));
      const row = await knex()('refunds').where({ public_id: r.id }).first();
      let error: unknown;
      try {
        await knex()('refunds').where({ id: row.id }).update({ status: 'approved', approved_by: 'api_key:key_other', approved_by_staff_id: row.requested_by_staff_id, approved_at: new Date() });
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string })?.code).to.equal('23514');
      expect((await knex()('refunds').where({ id: row.id }).first()).status).to.equal('requested');
    });

    it('when a session changes something without its CSRF token, then 403 and nothing is created', async () => {
      const p = await paid();
      const { cookie } = await session(alice);
      const before = await count('refunds', { payment_id: p.id });
      const res = await api().post(`/v1/payments/${p.public_id}/refunds`).set('cookie', cookie).send({ amount: 100, reasonCode: 'overpayment' });
      expect(res.status, res.text).to.equal(403);
      expect(res.body.code).to.equal('csrf_token_invalid');
      const forged = await api().post(`/v1/payments/${p.public_id}/refunds`).set({ cookie, 'x-csrf-token': 'f'.repeat(43) }).send({ amount: 100, reasonCode: 'overpayment' });
      expect(forged.status).to.equal(403);
      expect(await count('refunds', { payment_id: p.id })).to.equal(before);
    });
  });

  describe('remissions', () => {
    const decision = { decisionRef: '(2026)晋0105民初88号之一', decidedBy: '张法官', decidedAt: '2026-11-20' };
    const invoiceOf = async (id: string) => (await api().get(`/v1/invoices/${id}`).set(auth(cs))).body;

    it('when a person enters a reduction, then it waits and the amount due (and the payer\'s notice) is unchanged; the same person cannot approve it by key or session; a second person approves it and the amount changes once', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const entered = await api().post(`/v1/invoices/${inv.id}/remissions`).set(await session(alice)).send({ kind: 'reduction', reductionPercent: 40, ...decision });
      expect(entered.status, entered.text).to.equal(202);
      expect(entered.body.amount).to.equal(inv.amount);
      expect(entered.body.remission).to.include({ status: 'pending', kind: 'reduction', enteredBy: `staff:${alice.login}` });
      expect(entered.body.remission.enteredByPerson).to.deep.equal({ login: alice.login, name: '王芳' });
      const remissionId = entered.body.remission.id as string;
      expect((await invoiceOf(inv.id)).amount).to.equal(inv.amount);
      const bobsApprover = await ownedKey('approver', bob);
      const pendingIds = async () => (await api().get('/v1/remissions').query({ status: 'pending', limit: 500 }).set(bobsApprover)).body.data.map((r: { id: string }) => r.id);
      expect(await pendingIds()).to.include(remissionId);
      const notice = () => api().get(new URL(inv.paymentUrl).pathname).query({ lang: 'en' });
      const pendingPage = await notice();
      expect(pendingPage.status).to.equal(200);
      expect(pendingPage.text).to.not.contain(decision.decisionRef);

      for (const self of [await ownedKey('approver', alice), await session(alice)]) {
        const before = { invoice: await knex()('invoices').where({ public_id: inv.id }).first(), remission: await knex()('invoice_remissions').where({ public_id: remissionId }).first(), audit: await count('audit_events', { entity_id: inv.id }) };
        for (const act of ['approve', 'reject']) {
          const own = await api().post(`/v1/remissions/${remissionId}/${act}`).set(self).send({ note: 'mine' });
          expect(own.status, own.text).to.equal(403);
          expect(own.body.code).to.equal('own_remission');
        }
        expect({ invoice: await knex()('invoices').where({ public_id: inv.id }).first(), remission: await knex()('invoice_remissions').where({ public_id: remissionId }).first(), audit: await count('audit_events', { entity_id: inv.id }) }).to.deep.equal(before);
      }

      const ok = await api().post(`/v1/remissions/${remissionId}/approve`).set(await ownedKey('approver', bob)).send({ note: 'decision on file' });
      expect(ok.status, ok.text).to.equal(200);
      const reduced = Math.round((inv.statutoryAmount as number) * 0.6);
      expect(ok.body.amount).to.equal(reduced);
      expect(ok.body.remission).to.include({ status: 'approved', amountBefore: inv.amount, amountAfter: reduced, approvalNote: 'decision on file' });
      expect(ok.body.remission.approvedByPerson).to.deep.equal({ login: bob.login, name: '李强' });
      expect((await notice()).text).to.contain(decision.decisionRef);
      expect(await pendingIds()).to.not.include(remissionId);

      const again = await api().post(`/v1/remissions/${remissionId}/approve`).set(await session(bob)).send({});
      expect(again.status).to.equal(409);
      expect(again.body.code).to.equal('remission_approved');
      const shown = await invoiceOf(inv.id);
      expect(shown.amount).to.equal(reduced);
      expect(shown.remissions).to.have.length(1);
      expect(shown.remissions[0].enteredByPerson).to.deep.equal({ login: alice.login, name: '王芳' });
      expect(shown.remissions[0].approvedByPerson).to.deep.equal({ login: bob.login, name: '李强' });
      expect(await count('audit_events', { entity_id: inv.id, action: 'invoice.remission.reduction' })).to.equal(1);
    });

    it('when a second person rejects a pending remission, then the invoice never changes and it cannot be approved later', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const entered = await api().post(`/v1/invoices/${inv.id}/remissions`).set(await ownedKey('clerk', alice)).send({ kind: 'exemption', ...decision });
      expect(entered.status, entered.text).to.equal(202);
      const id = entered.body.remission.id;
      const rej = await api().post(`/v1/remissions/${id}/reject`).set(await session(bob)).send({ note: 'no decision on file' });
      expect(rej.status, rej.text).to.equal(200);
      expect(rej.body.remission).to.include({ status: 'rejected', rejectedBy: `staff:${bob.login}` });
      expect(rej.body.amount).to.equal(inv.amount);
      const late = await api().post(`/v1/remissions/${id}/approve`).set(await ownedKey('approver', bob)).send({});
      expect(late.status).to.equal(409);
      expect((await invoiceOf(inv.id)).amount).to.equal(inv.amount);
    });

    it('when a case system records a remission, then it applies at once as before', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const res = await api().post(`/v1/invoices/${inv.id}/remissions`).set(auth(cs)).send({ kind: 'exemption', ...decision });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.amount).to.equal(0);
      expect(res.body.remission).to.include({ status: 'approved', enteredByPerson: null, approvedBy: null });
      expect((await invoiceOf(inv.id)).status).to.equal('paid');
    });

    it('when a remission id is unknown or of another court, then 404 and nothing changes', async () => {
      const inv = await anInvoice(cs, await aCase(cs));
      const entered = await api().post(`/v1/invoices/${inv.id}/remissions`).set(await session(alice)).send({ kind: 'reduction', reductionPercent: 50, ...decision });
      const elsewhere = auth(await keyFor('approver', ['1412']));
      expect((await api().post(`/v1/remissions/${entered.body.remission.id}/approve`).set(elsewhere).send({})).status).to.equal(404);
      expect((await api().post(`/v1/remissions/rem_doesnotexist/approve`).set(elsewhere).send({})).status).to.equal(404);
      expect((await invoiceOf(inv.id)).amount).to.equal(inv.amount);
    });
  });

  describe('reconciliation items over the two-person amount', () => {
    async function anItem(amount: number): Promise<string> {
      await knex()('reconciliation_runs')
        .insert({ public_id: publicId('rec'), court_code: '1411', business_date: '2024-02-09', status: 'completed', source: 'list', started_by: 'test', totals: JSON.stringify({}) })
        .onConflict(['court_code', 'business_date']).ignore();
      const run = await knex()('reconciliation_runs').where({ court_code: '1411', business_date: '2024-02-09' }).first('id');
      const id = publicId('reci');
      await knex()('reconciliation_items').insert({ public_id: id, run_id: run.id, court_code: '1411', kind: 'amount_mismatch', item_key: id, expected_amount: amount, actual_amount: amount - 50, currency: 'cny', detail: 'two-person fixture' });
      return id;
    }
    const resolve = (id: string, by: Headers, note: string) => api().post(`/v1/reconciliation-items/${id}/resolve`).set(by).send({ note });
    const itemRow = (id: string) => knex()('reconciliation_items').where({ public_id: id }).first();

    it('when one person resolves a large item, then it is proposed and stays open; they cannot confirm it by another key or session; a second person confirms it', async () => {
      const limit = testEnv().config.reconciliation.secondPersonAboveFen;
      const id = await anItem(limit + 100);
      const machine = await resolve(id, auth(await keyFor('finance', 'all')), 'by a machine key');
      expect(machine.status, machine.text).to.equal(403);
      expect(machine.body.code).to.equal('person_required');

      const proposed = await resolve(id, await session(alice), 'the bank confirms the fee');
      expect(proposed.status, proposed.text).to.equal(202);
      expect(proposed.body).to.include({ status: 'open', resolution: null });
      expect(proposed.body.proposal).to.include({ note: 'the bank confirms the fee', by: `staff:${alice.login}` });
      expect(proposed.body.proposal.person).to.deep.equal({ login: alice.login, name: '王芳' });

      for (const self of [await ownedKey('finance', alice), await session(alice)]) {
        const before = { item: await itemRow(id), audit: await count('audit_events', { entity_id: id }) };
        const own = await resolve(id, self, 'confirming my own');
        expect(own.status, own.text).to.equal(403);
        expect(own.body.code).to.equal('own_resolution');
        expect({ item: await itemRow(id), audit: await count('audit_events', { entity_id: id }) }).to.deep.equal(before);
      }

      const confirmed = await resolve(id, await ownedKey('finance', bob), 'checked the statement too');
      expect(confirmed.status, confirmed.text).to.equal(200);
      expect(confirmed.body.status).to.equal('resolved');
      expect(confirmed.body.resolution).to.include({ note: 'checked the statement too' });
      expect(confirmed.body.resolution.person).to.deep.equal({ login: bob.login, name: '李强' });
      expect(confirmed.body.proposal.person).to.deep.equal({ login: alice.login, name: '王芳' });
    });

    it('when an item is at or below the amount, then one call by any finance key resolves it, naming the person if there is one', async () => {
      const limit = testEnv().config.reconciliation.secondPersonAboveFen;
      const small = await resolve(await anItem(limit), auth(await keyFor('finance', 'all')), 'small');
      expect(small.status, small.text).to.equal(200);
      expect(small.body.resolution.person).to.equal(null);
      const byPerson = await resolve(await anItem(500), await session(bob), 'small, by a person');
      expect(byPerson.status, byPerson.text).to.equal(200);
      expect(byPerson.body.resolution.person).to.deep.equal({ login: bob.login, name: '李强' });
    });
  });
});
