import { expect } from 'chai';
import { publicId } from '../../src/auth/keys';
import { aCase, anInvoice, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

/** A dead message about an invoice, to an endpoint, made directly in the database (as a past delivery left it). */
async function deadMessage(endpointPublicId: string, invoicePublicId: string): Promise<string> {
  const { knex } = testEnv();
  const e = await knex('callback_endpoints').where({ public_id: endpointPublicId }).first();
  const invoice = await knex('invoices').where({ public_id: invoicePublicId }).first();
  const id = publicId('cbm');
  await knex('callback_messages').insert({
    public_id: id, endpoint_id: e.id, invoice_id: invoice.id, type: 'invoice.issued', status: 'dead', attempts: 1, retries: 1,
    payload: JSON.stringify({ id, type: 'invoice.issued', createdAt: new Date().toISOString(), data: { invoice: { id: invoicePublicId } } }), dead_at: new Date(),
  });
  return id;
}

const messageRows = async () => testEnv().knex('callback_messages').orderBy('id').select('public_id', 'status', 'retries', 'next_attempt_at', 'dead_at', 'updated_at');
const auditCount = async () => Number((await testEnv().knex('audit_events').count<{ count: string }[]>('* as count'))[0].count);

describe("callback messages are scoped by their invoice's court", () => {
  let root: string;
  let admin1401: string;
  let endpointId: string;
  let own: string;
  let other: string;
  before(async () => {
    root = await keyFor('admin', 'all');
    admin1401 = await keyFor('admin', ['1401']);
    const cs = await keyFor('case_system', 'all');
    const created = await api().post('/v1/callback-endpoints').set(auth(root)).send({ url: 'http://127.0.0.1:9/cb', courtCodes: ['1401', '1411'], eventTypes: ['invoice.paid'], enabled: false });
    expect(created.status, created.text).to.equal(201);
    endpointId = created.body.id;
    own = await deadMessage(endpointId, (await anInvoice(cs, await aCase(cs, { courtCode: '1401' }))).id);
    other = await deadMessage(endpointId, (await anInvoice(cs, await aCase(cs, { courtCode: '1411' }))).id);
  });

  const refusedBoth = async () => {
    const before = { rows: await messageRows(), audit: await auditCount() };
    const read = await api().get(`/v1/callback-messages/${other}`).set(auth(admin1401));
    expect(read.status).to.equal(404);
    expect(read.headers['content-type']).to.match(/application\/problem\+json/);
    const replay = await api().post(`/v1/callback-messages/${other}/replay`).set(auth(admin1401));
    expect(replay.status).to.equal(404);
    expect(replay.body.detail).to.equal(read.body.detail);
    expect({ rows: await messageRows(), audit: await auditCount() }).to.deep.equal(before);
  };

  it("when the endpoint covers 1401 and 1411, then 1401's admin gets 404 reading or replaying a 1411 message, and nothing changes", refusedBoth);

  it("when the endpoint was narrowed to 1401 after 1411's messages, then 1401's admin still gets 404 on them, sees, counts and replays only its own, and replay-failed leaves 1411's dead", async () => {
    await api().patch(`/v1/callback-endpoints/${endpointId}`).set(auth(root)).send({ courtCodes: ['1401'] }).expect(200);
    await refusedBoth();

    const listed = await api().get(`/v1/callback-messages?endpointId=${endpointId}`).set(auth(admin1401));
    expect(listed.status).to.equal(200);
    expect(listed.body.data.map((m: { id: string }) => m.id)).to.deep.equal([own]);
    expect((await api().get(`/v1/callback-messages/${own}`).set(auth(admin1401))).status).to.equal(200);

    // The endpoint's health counts only the messages its reader may see.
    const seen = await api().get(`/v1/callback-endpoints/${endpointId}`).set(auth(admin1401));
    expect(seen.status).to.equal(200);
    expect(seen.body.health).to.include({ dead: 1, pending: 0 });
    expect((await api().get(`/v1/callback-endpoints/${endpointId}`).set(auth(root))).body.health).to.include({ dead: 2 });
    const listedEndpoints = await api().get('/v1/callback-endpoints').set(auth(admin1401));
    expect(listedEndpoints.body.data.find((e: { id: string }) => e.id === endpointId).health).to.include({ dead: 1 });

    const replayed = await api().post(`/v1/callback-endpoints/${endpointId}/replay-failed`).set(auth(admin1401));
    expect(replayed.status, replayed.text).to.equal(200);
    expect(replayed.body.replayed).to.equal(1);
    const rows = await testEnv().knex('callback_messages').whereIn('public_id', [own, other]);
    expect(Object.fromEntries(rows.map((r) => [r.public_id, r.status]))).to.deep.equal({ [own]: 'pending', [other]: 'dead' });

    const all = await api().get(`/v1/callback-messages/${other}`).set(auth(root));
    expect(all.status).to.equal(200);
  });
});
