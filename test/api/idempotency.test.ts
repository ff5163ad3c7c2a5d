import { expect } from 'chai';
import pg from 'pg';
import { idempotencyJobs, requestHash } from '../../src/http/idempotency';
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

  it('when the first request with the key is still running (its transaction open), then a retry waits for it, answers 409 idempotency_in_progress, and runs once it rolls back', async function () {
    if (testEnv().embedded) this.skip(); // one connection: a second transaction cannot be open beside the request's
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    const running = await testEnv().knex.transaction();
    try {
      await running('idempotency_keys').insert({ principal_id: keyId, key: 'running', method: 'post', path, request_hash: requestHash('post', path, body) });
      const res = await api().post(path).set(auth(cs)).set('idempotency-key', 'running').send(body);
      expect(res.status).to.equal(409);
      expect(res.body.code).to.equal('idempotency_in_progress');
      expect(await invoices(number)).to.equal(0);
    } finally {
      await running.rollback();
    }
    const retry = await api().post(path).set(auth(cs)).set('idempotency-key', 'running').send(body);
    expect(retry.status, retry.text).to.equal(201);
    expect(await invoices(number)).to.equal(1);
  });

  it('when the request holding the key is cut from the database mid-write, then a retry right after is processed normally, not 409', async function () {
    if (testEnv().embedded) this.skip(); // needs a second connection to cut
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    // The cut request's connection: its claim written in its open transaction, as the service writes it.
    const cut = new pg.Client({ connectionString: testEnv().config.db.url! });
    cut.on('error', () => undefined);
    await cut.connect();
    await cut.query('begin');
    await cut.query('insert into idempotency_keys (principal_id, key, method, path, request_hash) values ($1, $2, $3, $4, $5)', [keyId, 'cut', 'post', path, requestHash('post', path, body)]);
    const { rows } = await cut.query('select pg_backend_pid() as pid');
    await testEnv().knex.raw('select pg_terminate_backend(?)', [rows[0].pid]);
    await cut.end().catch(() => undefined);

    const retry = await api().post(path).set(auth(cs)).set('idempotency-key', 'cut').send(body);
    expect(retry.status, retry.text).to.equal(201);
    expect(await invoices(number)).to.equal(1);
    const row = await testEnv().knex('idempotency_keys').where({ principal_id: keyId, key: 'cut' }).first();
    expect(row).to.include({ status: 'completed', response_status: 201 });
  });

  it('when a claim was committed and left behind just now (as the previous version left one its release could not run for), then a retry is processed at once', async () => {
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    await testEnv().knex('idempotency_keys').insert({ principal_id: keyId, key: 'left-behind', method: 'post', path, request_hash: requestHash('post', path, body) });
    const res = await api().post(path).set(auth(cs)).set('idempotency-key', 'left-behind').send(body);
    expect(res.status, res.text).to.equal(201);
    expect(await invoices(number)).to.equal(1);
    const again = await api().post(path).set(auth(cs)).set('idempotency-key', 'left-behind').send(body);
    expect(again.status).to.equal(201);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.body.id).to.equal(res.body.id);
    expect(await invoices(number)).to.equal(1);
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

describe('Idempotency-Key records: no secrets, and they expire', () => {
  let admin: string;
  let cs: string;
  before(async () => {
    admin = await keyFor('admin', 'all');
    cs = await keyFor('case_system', 'all');
  });

  const storedRow = async (key: string, token: string) => {
    const { keyId } = (await testEnv().authenticator.authenticate(token))!;
    const { rows } = await testEnv().knex.raw('select status, response_status, response_body::text as body from idempotency_keys where principal_id = ? and key = ?', [keyId, key]);
    return rows[0] as { status: string; response_status: number; body: string };
  };

  it('when registering a callback endpoint is replayed with its key, then the same status and body come back with secret null, and the secret is in no stored record', async () => {
    const request = { url: 'http://127.0.0.1:9/idem', courtCodes: ['1411'], eventTypes: ['invoice.paid'], enabled: false, description: 'idempotency secret test' };
    const first = await api().post('/v1/callback-endpoints').set(auth(admin)).set('idempotency-key', 'endpoint-once').send(request);
    expect(first.status, first.text).to.equal(201);
    expect(first.body.secret).to.match(/^cbsec_/);
    const stored = await testEnv().knex('callback_endpoint_secrets as s').join('callback_endpoints as e', 'e.id', 's.endpoint_id').where('e.public_id', first.body.id).first('s.secret');
    expect(stored.secret).to.equal(first.body.secret);

    const replay = await api().post('/v1/callback-endpoints').set(auth(admin)).set('idempotency-key', 'endpoint-once').send(request);
    expect(replay.status).to.equal(201);
    expect(replay.headers['idempotent-replayed']).to.equal('true');
    expect(replay.body).to.deep.equal({ ...first.body, secret: null });
    expect(await testEnv().knex('callback_endpoints').where({ description: 'idempotency secret test' }).pluck('public_id')).to.deep.equal([first.body.id]);

    const row = await storedRow('endpoint-once', admin);
    expect(row).to.include({ status: 'completed', response_status: 201 });
    expect(row.body).not.to.include(first.body.secret);
    expect(row.body).not.to.include('cbsec_');
  });

  it('when rotating a secret is replayed with its key, then the replay has secret null and the record holds no secret', async () => {
    const created = await api().post('/v1/callback-endpoints').set(auth(admin)).send({ url: 'http://127.0.0.1:9/rotate', courtCodes: ['1411'], eventTypes: ['invoice.paid'], enabled: false });
    const rotated = await api().post(`/v1/callback-endpoints/${created.body.id}/rotate-secret`).set(auth(admin)).set('idempotency-key', 'rotate-once');
    expect(rotated.status, rotated.text).to.equal(200);
    expect(rotated.body.secret).to.match(/^cbsec_/);
    const replay = await api().post(`/v1/callback-endpoints/${created.body.id}/rotate-secret`).set(auth(admin)).set('idempotency-key', 'rotate-once');
    expect(replay.status).to.equal(200);
    expect(replay.body).to.deep.equal({ ...rotated.body, secret: null });
    const secrets = await testEnv().knex('callback_endpoint_secrets as s').join('callback_endpoints as e', 'e.id', 's.endpoint_id').where('e.public_id', created.body.id);
    expect(secrets).to.have.length(2); // the first and one rotation: the replay rotated nothing
    const row = await storedRow('rotate-once', admin);
    expect(row.body).not.to.include('cbsec_');
  });

  it('when records are older than idempotency.ttlHours, then the purge job removes them, keeps younger ones, and the old key runs afresh', async () => {
    const { knex, config } = testEnv();
    const number = await aCase(cs);
    const path = `/v1/cases/${enc(number)}/invoices`;
    const body = { feeKind: 'acceptance_property', claimAmount: 2_000_000, payer: { name: '王五', role: 'plaintiff' } };
    const old = await api().post(path).set(auth(cs)).set('idempotency-key', 'aged').send(body);
    const young = await api().post(path).set(auth(cs)).set('idempotency-key', 'young').send(body);
    expect([old.status, young.status]).to.deep.equal([201, 201]);
    const { keyId } = (await testEnv().authenticator.authenticate(cs))!;
    const ttlMs = config.idempotency.ttlHours * 3600_000;
    await knex('idempotency_keys').where({ principal_id: keyId, key: 'aged' }).update({ created_at: new Date(Date.now() - ttlMs - 60_000) });
    await knex('idempotency_keys').where({ principal_id: keyId, key: 'young' }).update({ created_at: new Date(Date.now() - ttlMs + 3600_000) });

    const job = idempotencyJobs(knex, config).find((j) => j.name === 'idempotency-purge')!;
    await job.run({});
    const left = await knex('idempotency_keys').where({ principal_id: keyId }).whereIn('key', ['aged', 'young']).pluck('key');
    expect(left).to.deep.equal(['young']);

    const afresh = await api().post(path).set(auth(cs)).set('idempotency-key', 'aged').send(body);
    expect(afresh.status).to.equal(201);
    expect(afresh.headers['idempotent-replayed']).to.equal(undefined);
    expect(afresh.body.id).not.to.equal(old.body.id);
    const replayed = await api().post(path).set(auth(cs)).set('idempotency-key', 'young').send(body);
    expect(replayed.headers['idempotent-replayed']).to.equal('true');
    expect(replayed.body.id).to.equal(young.body.id);
  });
});
