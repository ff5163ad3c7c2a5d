import { publicId } from '../../src/auth/keys';
import type { Row } from './access';
import { api } from './builders';
import { testEnv } from './env';

/** A completed run of court 1411 (the access table's court), made once; items are made fresh per call. */
let run: { id: number; public_id: string } | null = null;
async function aRun() {
  if (run) return run;
  const { knex } = testEnv();
  await knex('reconciliation_runs')
    .insert({ public_id: publicId('rec'), court_code: '1411', business_date: '2024-02-01', status: 'completed', source: 'list', started_by: 'test', totals: JSON.stringify({}) })
    .onConflict(['court_code', 'business_date']).ignore();
  run = await knex('reconciliation_runs').where({ court_code: '1411', business_date: '2024-02-01' }).first('id', 'public_id');
  return run!;
}

async function anItem(): Promise<string> {
  const r = await aRun();
  const id = publicId('reci');
  await testEnv().knex('reconciliation_items').insert({ public_id: id, run_id: r.id, court_code: '1411', kind: 'missing_in_ledger', item_key: id, detail: 'access fixture' });
  return id;
}

/** Reconciliation routes × roles × court scope (see test/api/access.test.ts). Running one calls Stripe, which is not stubbed here: the run fails, and is still a 201. */
export const reconciliationAccessRows: Row[] = [
  { route: 'POST /v1/reconciliations', roles: ['finance'], ok: 201, otherCourt: 403, call: (_f, h) => api().post('/v1/reconciliations').set(h).send({ date: '2024-03-05', courtCode: '1411' }) },
  { route: 'GET /v1/reconciliations', roles: ['finance'], ok: 200, otherCourt: 403, call: (_f, h) => api().get('/v1/reconciliations?courtCode=1411').set(h) },
  { route: 'GET /v1/reconciliations/{runId}', roles: ['finance'], ok: 200, otherCourt: 404, call: async (_f, h) => api().get(`/v1/reconciliations/${(await aRun()).public_id}`).set(h) },
  { route: 'GET /v1/reconciliations/{runId}/items', roles: ['finance'], ok: 200, otherCourt: 404, call: async (_f, h) => api().get(`/v1/reconciliations/${(await aRun()).public_id}/items`).set(h) },
  {
    route: 'POST /v1/reconciliation-items/{itemId}/resolve', roles: ['finance'], ok: 200, otherCourt: 404,
    call: async (_f, h) => api().post(`/v1/reconciliation-items/${await anItem()}/resolve`).set(h).send({ note: 'checked with the bank statement' }),
  },
];
