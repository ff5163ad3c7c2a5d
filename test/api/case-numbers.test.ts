import { expect } from 'chai';
import { aCaseNumber, api, auth, enc, tableCounts } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

/** What a refusal says, without what differs per request (its id). */
const refusal = (body: Record<string, unknown>) => {
  const { requestId, instance, ...rest } = body;
  void requestId;
  void instance;
  return rest;
};

describe('case numbers belong to the court that registers them', () => {
  let basic: string;
  let intermediate: string;
  let high: string;
  before(async () => {
    basic = await keyFor('case_system', ['1411']);
    intermediate = await keyFor('case_system', ['1401']);
    high = await keyFor('case_system', ['1400']);
  });

  const register = (key: string, number: string, courtCode: string) => api().put(`/v1/cases/${enc(number)}`).set(auth(key)).send({ courtCode, caseType: 'civil' });

  it("when court 1411's key registers a number of court 1401 (晋01), then 422 naming caseNumber, nothing is written, and court 1401 then registers and reads its own case", async () => {
    const number = aCaseNumber('晋01');
    const before = await tableCounts();
    const res = await register(basic, number, '1411');
    expect(res.status, res.text).to.equal(422);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    expect(res.body.errors[0]).to.include({ field: 'caseNumber', code: 'case_number_court_mismatch' });
    expect(await tableCounts()).to.deep.equal(before);
    expect(await testEnv().knex('cases').where({ case_number: number }).first()).to.equal(undefined);

    const own = await register(intermediate, number, '1401');
    expect(own.status, own.text).to.equal(201);
    expect(own.body).to.include({ caseNumber: number, courtCode: '1401' });
    const read = await api().get(`/v1/cases/${enc(number)}/fees`).set(auth(intermediate));
    expect(read.status, read.text).to.equal(200);
    expect(read.body).to.include({ caseNumber: number, courtCode: '1401' });
  });

  it('when a number is refused, then the answer is the same whether or not another court holds it', async () => {
    const held = aCaseNumber('晋01');
    await register(intermediate, held, '1401').expect(201);
    const free = held.replace(/(\d+)号$/, (_m, n) => `${Number(n) + 500_000}号`);
    const before = await tableCounts();
    const onHeld = await register(basic, held, '1411');
    const onFree = await register(basic, free, '1411');
    expect(onHeld.status).to.equal(422);
    expect(onFree.status).to.equal(422);
    expect(refusal(onHeld.body)).to.deep.equal({ ...refusal(onFree.body) });
    expect(await tableCounts()).to.deep.equal(before);
    const row = await testEnv().knex('cases').where({ case_number: held }).first();
    expect(row.court_code).to.equal('1401');
  });

  it('when the prefix matches but the designation is not whole (晋0105 at 1401, 晋01 at 1400), then 422', async () => {
    for (const [key, number, court] of [[intermediate, aCaseNumber('晋0105'), '1401'], [high, aCaseNumber('晋01'), '1400'], [high, aCaseNumber('晋0105'), '1400'], [intermediate, aCaseNumber('晋'), '1401']] as const) {
      const res = await register(key, number, court);
      expect(res.status, `${court} ${number}`).to.equal(422);
      expect(res.body.errors[0].field).to.equal('caseNumber');
      expect(await testEnv().knex('cases').where({ case_number: number }).first()).to.equal(undefined);
    }
  });

  it('when the high court (晋) registers a number of its own, e.g. (2026)晋民终N号, then 201', async () => {
    const number = aCaseNumber('晋', '民终');
    const res = await register(high, number, '1400');
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({ caseNumber: number, courtCode: '1400' });
  });
});
