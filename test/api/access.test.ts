import { addDays, courtToday } from '../../src/courts/courts';
import { expect } from 'chai';
import { ROLES } from '../../src/auth/principal';
import { apiRoutes } from '../../src/http/app';
import { aCase, aCaseNumber, anInvoice, aPayment, api, auth, enc } from '../support/builders';
import { createApiKey, revokeApiKey } from '../../src/auth/api-key-store';
import { auditAccessRows } from '../support/access-audit';
import { callbackAccessRows } from '../support/access-callbacks';
import { remissionAccessRows } from '../support/access-remissions';
import { staffAccessRows } from '../support/access-staff';
import { aPerson, signInCookie } from '../support/staff';
import { reconciliationAccessRows } from '../support/access-reconciliation';
import type { Row, Scope, Fixture } from '../support/access';
import { keyFor, testEnv } from '../support/env';

/**
 * Every endpoint × role × court scope, in one table. Fixtures live in court 1411; a key scoped to
 * 1411, to all courts, or only to 1412 ("other") calls each endpoint. A route added without a row
 * here fails the coverage check below.
 */
const ALL = ROLES;
const READERS = ['case_system', 'clerk', 'finance'] as const;

const table: Row[] = [
  ...reconciliationAccessRows,
  ...callbackAccessRows,
  ...remissionAccessRows,
  ...staffAccessRows,
  ...auditAccessRows,
  { route: 'GET /v1/courts', roles: ALL, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/courts').set(h) },
  { route: 'POST /v1/fees/quote', roles: ALL, ok: 200, otherCourt: 403, call: (_f, h) => api().post('/v1/fees/quote').set(h).send({ courtCode: '1411', feeKind: 'acceptance_labour' }) },
  { route: 'PUT /v1/cases/{caseNumber}', roles: ['case_system'], ok: 201, otherCourt: 403, call: (_f, h) => api().put(`/v1/cases/${enc(aCaseNumber())}`).set(h).send({ courtCode: '1411', caseType: 'civil' }) },
  {
    route: 'POST /v1/cases/{caseNumber}/outcome', roles: ['case_system'], ok: 201, otherCourt: 404,
    call: (f, h) => api().post(`/v1/cases/${enc(f.caseNumber)}/outcome`).set(h).send({ outcome: 'withdrawn', effectiveDate: '2026-11-20' }),
  },
  { route: 'GET /v1/cases/{caseNumber}/fees', roles: READERS, ok: 200, otherCourt: 404, call: (f, h) => api().get(`/v1/cases/${enc(f.caseNumber)}/fees`).set(h) },
  {
    route: 'POST /v1/cases/{caseNumber}/invoices', roles: ['case_system'], ok: 201, otherCourt: 404,
    call: (f, h) => api().post(`/v1/cases/${enc(f.caseNumber)}/invoices`).set(h).send({ feeKind: 'acceptance_labour', payer: { name: '李四', role: 'plaintiff' } }),
  },
  { route: 'GET /v1/invoices', roles: READERS, ok: 200, otherCourt: 403, call: (_f, h) => api().get('/v1/invoices?courtCode=1411').set(h) },
  { route: 'GET /v1/invoices/{invoiceId}', roles: READERS, ok: 200, otherCourt: 404, call: (f, h) => api().get(`/v1/invoices/${f.invoiceId}`).set(h) },
  { route: 'POST /v1/invoices/{invoiceId}/cancel', roles: ['case_system', 'clerk'], ok: 200, otherCourt: 404, call: (f, h) => api().post(`/v1/invoices/${f.invoiceId}/cancel`).set(h) },
  {
    route: 'POST /v1/invoices/{invoiceId}/remissions', roles: ['case_system', 'clerk'], ok: 200, otherCourt: 404,
    call: (f, h) => api().post(`/v1/invoices/${f.invoiceId}/remissions`).set(h).send({ kind: 'deferral', decisionRef: '(2026)晋0105民初1号之一', decidedBy: '张法官', decidedAt: '2026-11-20', newDueDate: addDays(courtToday('Asia/Shanghai'), 365) }),
  },
  { route: 'GET /v1/payments/{paymentId}', roles: READERS, ok: 200, otherCourt: 404, call: (f, h) => api().get(`/v1/payments/${f.paymentId}`).set(h) },
  { route: 'GET /v1/refund-reasons', roles: ALL, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/refund-reasons').set(h) },
  { route: 'POST /v1/payments/{paymentId}/refunds', roles: ['clerk'], ok: 201, otherCourt: 404, call: (f, h) => api().post(`/v1/payments/${f.paymentId}/refunds`).set(h).send({ amount: 100, reasonCode: 'overpayment' }) },
  { route: 'POST /v1/refunds/{refundId}/approve', roles: ['approver'], ok: 200, otherCourt: 404, call: (f, h) => api().post(`/v1/refunds/${f.refundId}/approve`).set(h) },
  { route: 'POST /v1/refunds/{refundId}/reject', roles: ['approver'], ok: 200, otherCourt: 404, call: (f, h) => api().post(`/v1/refunds/${f.refundId}/reject`).set(h).send({ note: 'not owed' }) },
  {
    route: 'POST /v1/refunds/{refundId}/cancel', roles: ['clerk', 'approver'], ok: 200, otherCourt: 404, call: (f, h) => api().post(`/v1/refunds/${f.refundId}/cancel`).set(h),
    expect: (role, scope) => (role === 'clerk' && scope !== 'other' ? 403 : undefined), // the fixture's refund was requested by another clerk
  },
  { route: 'GET /v1/refunds/{refundId}', roles: ['clerk', 'approver', 'finance'], ok: 200, otherCourt: 404, call: (f, h) => api().get(`/v1/refunds/${f.refundId}`).set(h) },
  { route: 'GET /v1/refunds', roles: ['clerk', 'approver', 'finance'], ok: 200, otherCourt: 403, call: (_f, h) => api().get('/v1/refunds?courtCode=1411').set(h) },
];

/** A settled payment with a refund requested on it by a clerk who is none of the callers. */
async function fixture(caseKey: string, requesterKey: string, withMoney: boolean): Promise<Fixture> {
  const caseNumber = await aCase(caseKey, { courtCode: '1411' });
  const invoiceId = (await anInvoice(caseKey, caseNumber)).id;
  if (!withMoney) return { caseNumber, invoiceId, paymentId: '', refundId: '' };
  const paymentId = (await aPayment(invoiceId)).public_id;
  const refund = await api().post(`/v1/payments/${paymentId}/refunds`).set(auth(requesterKey)).send({ amount: 200, reasonCode: 'overpayment' });
  return { caseNumber, invoiceId, paymentId, refundId: refund.body.id };
}

describe('access: every endpoint × role × court scope', () => {
  const keys = new Map<string, string>();
  let fixtureKey: string;
  let requesterKey: string;

  before(async () => {
    fixtureKey = await keyFor('case_system', 'all');
    requesterKey = await keyFor('clerk', 'all');
    for (const role of ROLES) {
      keys.set(`${role}/own`, await keyFor(role, ['1411']));
      keys.set(`${role}/all`, await keyFor(role, 'all'));
      keys.set(`${role}/other`, await keyFor(role, ['1412']));
    }
  });

  it('when the routes are listed, then the table covers every API route', () => {
    const routes = apiRoutes(testEnv().processor).map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    expect(table.map((r) => r.route).sort()).to.deep.equal(routes);
  });

  it('when the landing page and the icon are called with no key or a bad one, then they answer 200: public, and documented so', async () => {
    const spec = (await api().get('/openapi.json')).body;
    for (const path of ['/', '/favicon.ico']) {
      expect(spec.paths[path].get.security, path).to.deep.equal([]);
      for (const header of [{}, auth('cpk_notarealkey')]) expect((await api().get(path).set(header)).status, path).to.equal(200);
    }
  });

  it('when each role and scope calls each endpoint, then exactly the allowed ones succeed', async function () {
    this.timeout(240_000); // every row × 5 roles × 3 scopes, each with its own fixture, on a shared machine
    const failures: string[] = [];
    for (const row of table) {
      for (const role of ROLES) {
        for (const scope of ['own', 'all', 'other'] as Scope[]) {
          const f = await fixture(fixtureKey, requesterKey, /\{(paymentId|refundId)\}/.test(row.route));
          const res = await row.call(f, auth(keys.get(`${role}/${scope}`)!));
          const expected = !row.roles.includes(role) ? 403 : (row.expect?.(role, scope) ?? (scope === 'other' ? row.otherCourt : row.ok));
          if (res.status !== expected) failures.push(`${row.route} as ${role}/${scope}: ${res.status}, expected ${expected}`);
        }
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('when no key, a malformed key or a revoked key is sent, then 401 problem on every endpoint', async () => {
    const f = await fixture(fixtureKey, requesterKey, true);
    const revoked = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'admin', courts: 'all', name: 'to revoke' });
    await revokeApiKey(testEnv().knex, revoked.id);
    for (const header of [{}, auth('cpk_notarealkey'), auth(revoked.key), { authorization: 'Basic abc' }]) {
      for (const row of table) {
        const res = await row.call(f, header);
        expect(res.status, `${row.route} ${JSON.stringify(header)}`).to.equal(401);
        expect((res.body as { code: string }).code).to.be.oneOf(['unauthorized', 'invalid_api_key']);
      }
    }
  });

  it('when a signed-in person\'s session cookie is sent instead of a key, then routes that do not take sessions answer 401, and those that do answer a change without the CSRF header 403', async () => {
    const f = await fixture(fixtureKey, requesterKey, true);
    const cookie = await signInCookie(await aPerson({ roles: 'clerk,approver,finance,admin', courts: 'all' }));
    const defs = new Map(apiRoutes(testEnv().processor).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r]));
    expect(defs.get('GET /v1/me')?.sessions).to.equal(true);
    const failures: string[] = [];
    for (const row of table) {
      const def = defs.get(row.route)!;
      const res = await row.call(f, { cookie });
      const code = (res.body as { code?: string }).code;
      if (!def.sessions && res.status !== 401) failures.push(`${row.route}: ${res.status}, expected 401`);
      if (def.sessions && def.method !== 'get' && (res.status !== 403 || code !== 'csrf_token_invalid')) failures.push(`${row.route}: ${res.status} ${code}, expected 403 csrf_token_invalid`);
      if (def.sessions && def.method === 'get' && res.status === 401) failures.push(`${row.route}: 401 for a live session`);
    }
    expect(failures).to.deep.equal([]);
  });

  it('when a key is scoped to one court, then /v1/courts lists only that court', async () => {
    const res = await api().get('/v1/courts').set(auth(keys.get('clerk/other')!));
    expect(res.body.data.map((c: { code: string }) => c.code)).to.deep.equal(['1412']);
  });
});
