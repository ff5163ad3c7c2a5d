import { createApiKey } from '../../src/auth/api-key-store';
import { addDays, courtToday } from '../../src/courts/courts';
import type { Fixture, Row } from './access';
import { aCase, anInvoice, api, auth } from './builders';
import { keyFor, testEnv } from './env';
import { aPerson } from './staff';

/** A clerk key owned by a person who is none of the callers: the remissions it records wait for a second person. */
let personsClerk: Record<string, string> | null = null;
async function clerkOfAPerson(): Promise<Record<string, string>> {
  if (personsClerk) return personsClerk;
  const person = await aPerson({ roles: 'clerk', courts: 'all' });
  const { key } = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: 'all', name: 'access remissions clerk', owner: person.login }, 'system:test');
  return (personsClerk = auth(key));
}

let caseSystem: string | null = null;

/** A deferral entered by a person on an unpaid invoice of court 1411 (the fixture's, unless it was paid): pending, its id. */
async function aPendingRemission(f: Fixture): Promise<string> {
  caseSystem ??= await keyFor('case_system', ['1411']);
  const invoiceId = f.paymentId ? (await anInvoice(caseSystem, await aCase(caseSystem))).id : f.invoiceId;
  const res = await api().post(`/v1/invoices/${invoiceId}/remissions`).set(await clerkOfAPerson())
    .send({ kind: 'deferral', decisionRef: '(2026)晋0105民初2号之一', decidedBy: '张法官', decidedAt: '2026-11-20', newDueDate: addDays(courtToday('Asia/Shanghai'), 365) });
  if (res.status !== 202) throw new Error(`remission not pending: ${res.status} ${res.text}`);
  return res.body.remission.id;
}

/** Remission decisions × roles × court scope (see test/api/access.test.ts). */
export const remissionAccessRows: Row[] = [
  { route: 'GET /v1/remissions', roles: ['clerk', 'approver', 'finance'], ok: 200, otherCourt: 403, call: (_f, h) => api().get('/v1/remissions?status=pending&courtCode=1411').set(h) },
  { route: 'POST /v1/remissions/{remissionId}/approve', roles: ['approver'], ok: 200, otherCourt: 404, call: async (f, h) => api().post(`/v1/remissions/${await aPendingRemission(f)}/approve`).set(h).send({}) },
  { route: 'POST /v1/remissions/{remissionId}/reject', roles: ['approver'], ok: 200, otherCourt: 404, call: async (f, h) => api().post(`/v1/remissions/${await aPendingRemission(f)}/reject`).set(h).send({ note: 'no decision on file' }) },
];
