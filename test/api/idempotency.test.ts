import { expect } from 'chai';
import { requestHash } from '../../src/http/idempotency';
import { aCase, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

describe('Idempotency-Key', () => {
  let cs: string;
  const body = { feeKind: 'acceptance_property', claimAmount: 2_000_000, payer: { name: '王五', role: 'plaintiff' } };
  before(async () => {
    cs = await keyFor('case_system', 'all');
  });

  const invoices = async (caseNumber: string) => (await testEnv().knex('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('c.case_number', caseNumber).count<{ count: string }[]>('* as count'))[0].count;

  it('when the same key and body are sent again, then the stored response is replayed and one invoice exists', async () => {
    const number = await aCase(cs);
    const first = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).set('idempotency-key', 'retry-1').send(body);
    const second = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).set('idempotency-key', 'retry-1').send(body);
    expect(first.status).to.equal(201);
    expect(second.status).to.equal(201);
    expect(second.body).to.deep.equal(first.body);
    expect(second.headers['idempotent-replayed']).to.equal('true');
    expect(await invoices(number)).to.equal(1);
  });

  it('when the same key comes with a different body, then 409 and nothing new is written', async () => {
    const number = await aCase(cs);
    await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).set('idempotency-key', 'retry-2').send(body).expect(201);
    const res = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).set('idempotency-key', 'retry-2').send({ ...body, claimAmount: 3_000_000 });
    expect(res.status).to.equal(409);
    expect(res.body.code).to.equal('idempotency_key_reused');
    expect(await invoices(number)).to.equal(1);
  });

  it('when another key (principal) uses the same key string, then it is its own request', async () => {
    const number = await aCase(cs);
    const other = await keyFor('case_system', 'all');
    const a = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(cs)).set('idempotency-key', 'shared').send(body);
    const b = await api().post(`/v1/cases/${enc(number)}/invoices`).set(auth(other)).set('idempotency-key', 'shared').send(body);
    expect(a.body.id).not.to.equal(b.body.id);
    expect(await invoices(number)).to.equal(2);
  });

  it('when the first request with the key is still running, then 409 idempotency_in_progress', async () => {
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    await testEnv().knex('idempotency_keys').insert({ principal_id: keyId, key: 'running', method: 'post', path, request_hash: requestHash('post', path, body) });
    const res = await api().post(path).set(auth(cs)).set('idempotency-key', 'running').send(body);
    expect(res.status).to.equal(409);
    expect(res.body.code).to.equal('idempotency_in_progress');
    expect(await invoices(number)).to.equal(0);
  });

  it('when a claim was left by a crashed request long ago, then a retry runs afresh', async () => {
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    await testEnv().knex('idempotency_keys').insert({ principal_id: keyId, key: 'crashed', method: 'post', path, request_hash: requestHash('post', path, body), locked_at: new Date(Date.now() - 5 * 60_000) });
    const res = await api().post(path).set(auth(cs)).set('idempotency-key', 'crashed').send(body);
    expect(res.status).to.equal(201);
    expect(await invoices(number)).to.equal(1);
    const row = await testEnv().knex('idempotency_keys').where({ principal_id: keyId, key: 'crashed' }).first();
    expect(row).to.include({ status: 'completed', response_status: 201 });
  });

  it('when the request fails, then the key is released and a corrected retry is not blocked', async () => {
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const bad = await api().post(path).set(auth(cs)).set('idempotency-key', 'fix-me').send({ ...body, dueDate: '2001-01-01' });
    expect(bad.status).to.equal(422);
    const good = await api().post(path).set(auth(cs)).set('idempotency-key', 'fix-me').send(body);
    expect(good.status).to.equal(201);
  });

  it('when ten identical requests race, then one invoice is created and every answer names it or says in progress', async function () {
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const answers = await Promise.all(Array.from({ length: 10 }, () => api().post(path).set(auth(cs)).set('idempotency-key', 'race').send(body)));
    expect(await invoices(number)).to.equal(1);
    const created = answers.filter((a) => a.status === 201).map((a) => a.body.id);
    expect(new Set(created).size).to.equal(1);
    for (const a of answers) {
      if (a.status !== 201) expect(a.body.code).to.equal('idempotency_in_progress');
    }
  });
});
