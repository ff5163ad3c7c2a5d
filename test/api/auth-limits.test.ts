import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import request from 'supertest';
import { ApiKeyAuthenticator } from '../../src/auth/api-key-store';
import { generateApiKey, hashKey, keyChecksum, legacyChecksum, randomBase62 } from '../../src/auth/keys';
import { openDatabase, type Database } from '../../src/db';
import { buildApp, type App } from '../../src/http/app';
import { aCase, aCaseNumber, anInvoice, auth, enc, tableCounts } from '../support/builders';
import { keyFor, testConfig, testEnv } from '../support/env';
import { aSession, expectStripeStubsUsed, stripeApi } from '../support/stripe';

/** Well-formed keys nobody issued: checksummed under a secret that is not the server's, or with the old unkeyed checksum anyone can compute. */
const forgedKeyed = (): string => {
  const key = generateApiKey('the-attacker-does-not-know-the-secret');
  // One in 16.7 million passes the real 24-bit checksum by chance; that one would be looked up, as it should.
  return keyChecksum(key, testEnv().config.auth.keyChecksumSecret) ? forgedKeyed() : key;
};
const forgedLegacy = () => {
  const body = randomBase62(32);
  return `cpk_${body}_${legacyChecksum(body)}`;
};

/** Every statement a knex instance sends while fn runs. */
async function statementsDuring(knex: Knex, fn: () => Promise<void>): Promise<string[]> {
  const sql: string[] = [];
  const listener = (q: { sql: string }) => sql.push(q.sql);
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.off('query', listener);
  }
  return sql;
}

/** An app like the service's, on the test database, with its own limits and authenticator. */
function anApp(limits: { authFailures?: object; pagePosts?: object }, knex: Knex = testEnv().knex): { app: App; authenticator: ApiKeyAuthenticator } {
  const { config: base } = testEnv();
  const config = testConfig({ db: base.db.url ? {} : { embeddedDir: 'memory://' }, rateLimits: limits });
  const authenticator = new ApiKeyAuthenticator(knex, config.auth);
  return { app: buildApp({ knex, config, authenticator, processor: testEnv().processor }), authenticator };
}

/** A client address of its own per test (the app trusts the loopback proxy's X-Forwarded-For). */
let addressSeq = 0;
const anAddress = () => `198.51.100.${(addressSeq = (addressSeq % 250) + 1)}`;
const hextet = () => Math.floor(Math.random() * 65536).toString(16);
const uniqueV6 = () => `2001:db8:${hextet()}:${hextet()}::1`;

describe('forged API keys and rate limits', () => {
  it('when 20,000 forged well-formed keys are tried, then authenticating them costs no database statement and caches nothing', async () => {
    const { knex, config } = testEnv();
    const authenticator = new ApiKeyAuthenticator(knex, { ...config.auth, keyCacheMax: 100, negativeKeyCacheMax: 50 });
    const real = await keyFor('clerk');
    expect(await authenticator.authenticate(real)).to.include({ name: 'test clerk' });
    expect(await authenticator.authenticate(forgedLegacy())).to.equal(null); // reads the legacy keys' hashes, once

    let refused = 0;
    const sql = await statementsDuring(knex, async () => {
      for (let i = 0; i < 20_000; i++) if ((await authenticator.authenticate(i % 2 ? forgedKeyed() : forgedLegacy())) === null) refused += 1;
    });
    expect(refused).to.equal(20_000);
    expect(sql).to.deep.equal([]);
    expect(authenticator.cacheSizes()).to.deep.equal({ known: 1, unknown: 0 });
    expect(await authenticator.authenticate(real), 'a real key still works').to.include({ name: 'test clerk' });
  });

  it('when a flood of forged keys arrives over HTTP from one address, then none is looked up, the address is limited, and the database sees a bounded number of statements', async function () {
    this.timeout(120_000);
    const FLOOD = 1_000; // the 20,000 above show the per-key cost; this shows the whole request path stays bounded
    const max = 5;
    const { app } = anApp({ authFailures: { max, windowSeconds: 600 } });
    const server: Server = await new Promise((resolve) => {
      const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const from = anAddress();
    const statuses: Record<number, number> = {};
    const concurrency = 16;
    let sent = 0;
    try {
      await fetch(`${base}/v1/courts`, { headers: { authorization: `Bearer ${forgedLegacy()}`, 'x-forwarded-for': uniqueV6() } }); // loads the legacy hashes once
      const sql = await statementsDuring(testEnv().knex, async () => {
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (sent < FLOOD) {
              const key = sent++ % 2 ? forgedKeyed() : forgedLegacy();
              const res = await fetch(`${base}/v1/courts`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': from } });
              await res.arrayBuffer();
              statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            }
          }),
        );
      });
      expect(statuses).to.deep.equal({ 401: max, 429: FLOOD - max });
      expect(sql.filter((s) => /api_keys/.test(s)), 'no key is looked up').to.deep.equal([]);
      expect(sql.filter((s) => !/rate_limit_counters/.test(s))).to.deep.equal([]);
      expect(sql.length, 'the failure counter: at most max plus the requests in flight, then memory').to.be.at.most(max + concurrency);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('when unknown keys with the right checksum arrive, then each is looked up once and the caches stay within their bounds', async () => {
    const { knex, config } = testEnv();
    const authenticator = new ApiKeyAuthenticator(knex, { ...config.auth, keyCacheMax: 5, negativeKeyCacheMax: 20, negativeKeyCacheTtlMs: 600_000 });
    const unknown = Array.from({ length: 100 }, () => generateApiKey(config.auth.keyChecksumSecret));
    const real = await Promise.all(Array.from({ length: 8 }, () => keyFor('finance')));
    const sql = await statementsDuring(knex, async () => {
      for (const key of unknown) expect(await authenticator.authenticate(key)).to.equal(null);
      for (const key of unknown.slice(-20)) expect(await authenticator.authenticate(key)).to.equal(null); // the last 20: answered from the negative cache
    });
    expect(sql.filter((s) => /from "api_keys"/.test(s)).length).to.equal(100);
    for (const key of real) expect(await authenticator.authenticate(key)).to.include({ name: 'test finance' });
    expect(authenticator.cacheSizes()).to.deep.equal({ known: 5, unknown: 20 });
  });

  it('when a key issued before the keyed checksum is used, then it still works, and once revoked it stops', async () => {
    const { knex, config } = testEnv();
    const body = randomBase62(32);
    const legacy = `cpk_${body}_${legacyChecksum(body)}`;
    // As the code before this release wrote keys: no checksum_kind, so the column's default marks it.
    await knex('api_keys').insert({ public_id: `key_${randomBase62(20)}`, name: 'issued last year', role: 'case_system', all_courts: true, court_codes: [], key_hash: hashKey(legacy), key_prefix: legacy.slice(0, 10) });
    const authenticator = new ApiKeyAuthenticator(knex, config.auth);
    expect(await authenticator.authenticate(legacy)).to.include({ name: 'issued last year' });
    const { app } = anApp({});
    await request(app).get('/v1/courts').set(auth(legacy)).expect(200);
    await knex('api_keys').where({ key_hash: hashKey(legacy) }).update({ revoked_at: knex.fn.now() });
    const fresh = new ApiKeyAuthenticator(knex, config.auth);
    expect(await fresh.authenticate(legacy)).to.equal(null);
  });

  it('when one address fails to authenticate N times, then it gets 429 with Retry-After, another address is unaffected, and a valid key from it is still served', async () => {
    const max = 4;
    const { app } = anApp({ authFailures: { max, windowSeconds: 120 } });
    const cs = await keyFor('case_system');
    const limited = anAddress();
    const bad = [() => ({}), () => auth(forgedKeyed()), () => auth(generateApiKey(testEnv().config.auth.keyChecksumSecret)), () => ({ authorization: 'Basic eA==' })];
    for (let i = 0; i < max; i++) {
      const res = await request(app).get('/v1/courts').set(bad[i % bad.length]()).set('x-forwarded-for', limited);
      expect(res.status, `failure ${i + 1}`).to.equal(401);
    }
    const before = await tableCounts();
    const over = await request(app).put(`/v1/cases/${enc(aCaseNumber())}`).set(auth(forgedKeyed())).set('x-forwarded-for', limited).send({ courtCode: '1411', caseType: 'civil', procedure: 'ordinary' });
    expect(over.status).to.equal(429);
    expect(over.headers['content-type']).to.match(/application\/problem\+json/);
    expect(over.body).to.include({ status: 429, code: 'rate_limited' });
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).to.be.within(1, 120);
    expect(await tableCounts(), 'nothing written').to.deep.equal(before);
    await request(app).get('/v1/courts').set('x-forwarded-for', limited).expect(429);

    await request(app).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', anAddress()).expect(401);
    await request(app).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', uniqueV6()).expect(401);
    // The limit counts failures; a key cannot be guessed, so a valid one is served even from the limited address.
    await request(app).get('/v1/courts').set(auth(cs)).set('x-forwarded-for', limited).expect(200);
  });

  it('when an IPv6 client changes the low half of its address, then it is still the same client for the limit', async () => {
    const { app } = anApp({ authFailures: { max: 2, windowSeconds: 120 } });
    const prefix = `2001:db8:${hextet()}:${hextet()}`;
    for (const host of ['1', '2']) await request(app).get('/v1/courts').set('x-forwarded-for', `${prefix}::${host}`).expect(401);
    const res = await request(app).get('/v1/courts').set('x-forwarded-for', `${prefix}:0:0:0:3`);
    expect(res.status).to.equal(429);
  });

  it('when two instances share one database, then failures at either count towards one limit', async () => {
    const { config } = testEnv();
    let second: Database | null = null;
    if (config.db.url) second = await openDatabase(config, { migrate: false }); // its own pool, as another process would have
    try {
      const limits = { authFailures: { max: 3, windowSeconds: 120 } };
      const a = anApp(limits).app;
      const b = anApp(limits, second?.knex ?? testEnv().knex).app;
      const from = anAddress();
      for (const app of [a, b, a]) await request(app).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', from).expect(401);
      const res = await request(b).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', from);
      expect(res.status, 'b never saw three failures itself').to.equal(429);
      expect(res.headers['retry-after']).to.match(/^\d+$/);
      await request(a).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', from).expect(429);
      await request(a).get('/v1/courts').set(auth(forgedKeyed())).set('x-forwarded-for', anAddress()).expect(401);
    } finally {
      await second?.close();
    }
  });

  describe('litigant pages', () => {
    afterEach(expectStripeStubsUsed);

    it('when one address floods the pay button, then it gets a 429 page with Retry-After and no payment or checkout session is made', async () => {
      const cs = await keyFor('case_system');
      const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 200_000 });
      const token = inv.paymentUrl.split('/pay/')[1];
      const max = 3;
      const { app } = anApp({ pagePosts: { max, windowSeconds: 300 } });
      const from = anAddress();
      const session = aSession({ amount_total: 4550 });
      stripeApi().post('/v1/checkout/sessions').reply(200, session); // the first press makes the session; the next reuse it
      for (let i = 0; i < max; i++) {
        const res = await request(app).post(`/pay/${token}/checkout`).type('form').set('x-forwarded-for', from).send({});
        expect(res.status).to.equal(303);
        expect(res.headers.location).to.equal(session.url);
      }
      const payments = () => testEnv().knex('payments').join('invoices', 'invoices.id', 'payments.invoice_id').where('invoices.public_id', inv.id).count<{ count: string }[]>('* as count');
      const [{ count: before }] = await payments();
      expect(Number(before)).to.equal(1);
      const counts = await tableCounts();
      for (let i = 0; i < 20; i++) {
        const res = await request(app).post(`/pay/${token}/checkout`).type('form').set('x-forwarded-for', from).send({});
        expect(res.status).to.equal(429);
        expect(res.headers['retry-after']).to.match(/^\d+$/);
        expect(res.headers['content-type']).to.match(/^text\/html/);
        expect(res.text).to.include('请几分钟后再试');
      }
      const [{ count: after }] = await payments();
      expect(Number(after)).to.equal(1);
      expect(await tableCounts()).to.deep.equal(counts);
      // Someone else's press is not held up (an unknown link answers its own 404).
      await request(app).post(`/pay/${'x'.repeat(40)}/checkout`).type('form').set('x-forwarded-for', anAddress()).send({}).expect(404);
    });
  });
});
