import { publicId } from '../../src/auth/keys';
import type { Fixture, Row } from './access';
import { api } from './builders';
import { testEnv } from './env';

/**
 * A disabled endpoint for court 1411 (disabled: later tests' invoices must not queue messages to
 * it) with one dead message about the fixture's invoice, made directly in the database.
 */
async function endpointWithDeadMessage(f: Fixture): Promise<{ endpointId: string; messageId: string }> {
  const { knex } = testEnv();
  const [e] = await knex('callback_endpoints')
    .insert({ public_id: publicId('cbe'), url: 'http://127.0.0.1:9/cb', court_codes: ['1411'], event_types: ['invoice.issued'], enabled: false, created_by: 'system:test' })
    .returning('*');
  await knex('callback_endpoint_secrets').insert({ endpoint_id: e.id, secret: 'cbsec_access_test' });
  const invoice = await knex('invoices').where({ public_id: f.invoiceId }).first();
  const messageId = publicId('cbm');
  await knex('callback_messages').insert({
    public_id: messageId, endpoint_id: e.id, invoice_id: invoice.id, type: 'invoice.issued', status: 'dead', attempts: 1, retries: 1,
    payload: JSON.stringify({ id: messageId, type: 'invoice.issued', createdAt: new Date().toISOString(), data: {} }), dead_at: new Date(),
  });
  return { endpointId: e.public_id, messageId };
}

const ADMIN = ['admin'] as const;

/** Callback admin routes × roles × court scope (see test/api/access.test.ts). */
export const callbackAccessRows: Row[] = [
  {
    route: 'POST /v1/callback-endpoints', roles: ADMIN, ok: 201, otherCourt: 403,
    call: (_f, h) => api().post('/v1/callback-endpoints').set(h).send({ url: 'http://127.0.0.1:9/cb', courtCodes: ['1411'], eventTypes: ['invoice.paid'], enabled: false }),
  },
  { route: 'GET /v1/callback-endpoints', roles: ADMIN, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/callback-endpoints').set(h) },
  {
    route: 'GET /v1/callback-endpoints/{endpointId}', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().get(`/v1/callback-endpoints/${(await endpointWithDeadMessage(f)).endpointId}`).set(h),
  },
  {
    route: 'PATCH /v1/callback-endpoints/{endpointId}', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().patch(`/v1/callback-endpoints/${(await endpointWithDeadMessage(f)).endpointId}`).set(h).send({ description: 'renamed' }),
  },
  {
    route: 'POST /v1/callback-endpoints/{endpointId}/rotate-secret', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().post(`/v1/callback-endpoints/${(await endpointWithDeadMessage(f)).endpointId}/rotate-secret`).set(h),
  },
  {
    route: 'POST /v1/callback-endpoints/{endpointId}/replay-failed', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().post(`/v1/callback-endpoints/${(await endpointWithDeadMessage(f)).endpointId}/replay-failed`).set(h),
  },
  { route: 'GET /v1/callback-messages', roles: ADMIN, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/callback-messages?status=dead').set(h) },
  {
    route: 'GET /v1/callback-messages/{messageId}', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().get(`/v1/callback-messages/${(await endpointWithDeadMessage(f)).messageId}`).set(h),
  },
  {
    route: 'POST /v1/callback-messages/{messageId}/replay', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (f, h) => api().post(`/v1/callback-messages/${(await endpointWithDeadMessage(f)).messageId}/replay`).set(h),
  },
];
