import { expect } from 'chai';
import { startService, type RunningService } from '../../src/service';
import { aCase, aCaseNumber, anInvoice, auth, enc } from '../support/builders';
import { keyFor, testConfig, testEnv } from '../support/env';
import { aSession, anEvent, expectStripeStubsUsed, sign, stripeApi } from '../support/stripe';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

type Kind = 'api' | 'zh page' | 'en page';
interface Probe {
  what: string;
  kind: Kind;
  send: () => Promise<Response>;
  /** The answer once the database is back. */
  after: number;
  /** Only reads: safe to send many times at once. */
  read?: true;
}

describe('database outage: a service whose database connection is cut', () => {
  let proxy: TcpProxy;
  let service: RunningService;
  let base: string;

  before(async function () {
    // PGlite runs inside the test process and is not reached over a network a proxy could cut.
    if (testEnv().embedded) this.skip();
    const url = new URL(testEnv().config.db.url!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    // A short acquire timeout: a request that finds no connection is answered soon, not after the default 10 s.
    service = await startService(testConfig({ http: { port: 0 }, db: { url: url.toString(), pool: { min: 0, max: 4, acquireTimeoutMs: 300 } } }));
    base = `http://127.0.0.1:${service.port}`;
  });

  after(async () => {
    await service?.stop();
    await proxy?.close();
  });

  async function probes(): Promise<{ list: Probe[]; caseNumber: string }> {
    const key = await keyFor('case_system');
    const invoice = await anInvoice(key, await aCase(key));
    const token = new URL(invoice.paymentUrl).pathname.split('/').pop()!;
    const unseenKey = await keyFor('case_system'); // never used before the cut: its lookup meets the outage
    const caseNumber = aCaseNumber();
    const event = JSON.stringify(anEvent('checkout.session.completed', aSession({ id: `cs_test_outage_${Date.now()}`, payment_status: 'paid' })));
    const json = { 'content-type': 'application/json' };
    const list: Probe[] = [
      { what: 'reading an invoice', kind: 'api', read: true, after: 200, send: () => fetch(`${base}/v1/invoices/${invoice.id}`, { headers: auth(key) }) },
      { what: 'a key not yet cached', kind: 'api', read: true, after: 200, send: () => fetch(`${base}/v1/invoices/${invoice.id}`, { headers: auth(unseenKey) }) },
      {
        what: 'registering a case', kind: 'api', after: 201,
        send: () => fetch(`${base}/v1/cases/${enc(caseNumber)}`, { method: 'PUT', headers: { ...auth(key), ...json }, body: JSON.stringify({ courtCode: '1411', caseType: 'civil', procedure: 'ordinary' }) }),
      },
      { what: 'a Stripe delivery', kind: 'api', read: true, after: 200, send: () => fetch(`${base}/webhooks/stripe`, { method: 'POST', headers: { ...json, 'stripe-signature': sign(event) }, body: event }) },
      { what: 'the pay page', kind: 'zh page', read: true, after: 200, send: () => fetch(`${base}/pay/${token}`) },
      { what: 'the pay page in English', kind: 'en page', read: true, after: 200, send: () => fetch(`${base}/pay/${token}?lang=en`) },
      { what: 'the return page', kind: 'zh page', read: true, after: 200, send: () => fetch(`${base}/pay/${token}/return`) },
      {
        what: 'the pay button', kind: 'en page', after: 303,
        send: () => fetch(`${base}/pay/${token}/checkout`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'lang=en' }),
      },
    ];
    return { list, caseNumber };
  }

  async function expectUnavailable(p: Probe, res: Response): Promise<void> {
    const body = await res.text();
    expect(res.status, `${p.what}: ${body}`).to.equal(503);
    expect(Number(res.headers.get('retry-after')), p.what).to.be.greaterThan(0);
    if (p.kind === 'api') {
      expect(res.headers.get('content-type'), p.what).to.match(/^application\/problem\+json/);
      expect(JSON.parse(body), p.what).to.include({ status: 503, code: 'database_unavailable' });
    } else {
      expect(res.headers.get('content-type'), p.what).to.match(/^text\/html/);
      expect(body, p.what).to.include(p.kind === 'zh page' ? '请稍后再试' : 'try again in a moment');
    }
  }

  it('when the database is cut off, then API requests, webhooks and pay pages get 503 with Retry-After (never 500), nothing is written, and all succeed once it is back', async () => {
    const { list, caseNumber } = await probes();
    const warm = await list[0].send(); // the key is now cached and the pool holds connections the cut will break
    expect(warm.status).to.equal(200);

    await proxy.cut();
    for (const p of list) await expectUnavailable(p, await p.send());
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).to.equal(503);
    expect(await testEnv().knex('cases').where({ case_number: caseNumber }).first()).to.equal(undefined);

    await proxy.restore();
    stripeApi().post('/v1/checkout/sessions').reply(200, aSession({ url: 'https://checkout.stripe.com/c/pay/cs_test_after_outage' }));
    const after = [];
    for (const p of list) after.push({ what: p.what, status: (await p.send()).status }); // in order: the pay button last, after the return page
    expect(after).to.deep.equal(list.map((p) => ({ what: p.what, status: p.after })));
    expectStripeStubsUsed();
    expect(await testEnv().knex('cases').where({ case_number: caseNumber }).first()).to.include({ court_code: '1411' });
    expect((await fetch(`${base}/readyz`)).status).to.equal(200);
  });

  it('when the connection is cut under requests in flight, then each is answered 503 or completed, none 500 and none left hanging, and the next ones succeed after the restore', async () => {
    const { list } = await probes();
    const reads = list.filter((p) => p.read);
    const received = new Promise((resolve) => service.server.once('request', resolve));
    const burst = Array.from({ length: 4 }, () => reads).flat().map(async (p) => ({ p, res: await p.send() }));
    await received;
    await proxy.cut();
    const answered = await Promise.all(burst);
    for (const { p, res } of answered) {
      if (res.status !== 200) await expectUnavailable(p, res);
    }
    expect(answered.filter(({ res }) => res.status === 503).length).to.be.greaterThan(0);

    await proxy.restore();
    const after = await Promise.all(reads.map(async (p) => (await p.send()).status));
    expect(after).to.deep.equal(reads.map((p) => p.after));
  });

  it('when every pooled connection is stuck and then killed by the administrator, then the request that finds no free connection and those killed get 503, and the next ones succeed', async () => {
    const { list } = await probes();
    const reading = list[0];
    expect((await reading.send()).status).to.equal(200); // its key is cached now: only the invoice query needs a connection
    const waitingOnLock = async () =>
      (await testEnv().knex.raw(`select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%invoices%' and pid <> pg_backend_pid()`)).rows as { pid: number }[];
    const lock = await testEnv().knex.transaction();
    try {
      await lock.raw('lock table invoices in access exclusive mode');
      const stuck = Array.from({ length: 4 }, () => reading.send()); // the pool's four connections, each waiting on the lock
      while ((await waitingOnLock()).length < 4) await new Promise((r) => setTimeout(r, 20));
      await expectUnavailable(reading, await reading.send()); // no connection free within the acquire timeout (KnexTimeoutError)

      // An administrator ends those sessions (57P01 admin_shutdown), as a failover or a restart does.
      for (const { pid } of await waitingOnLock()) await testEnv().knex.raw('select pg_terminate_backend(?)', [pid]);
      for (const res of await Promise.all(stuck)) await expectUnavailable(reading, res);
    } finally {
      await lock.rollback();
    }
    const after = await Promise.all([reading.send(), reading.send()]);
    expect(await Promise.all(after.map(async (r) => `${r.status} ${r.status === 200 ? '' : await r.text()}`.trim()))).to.deep.equal(['200', '200']);
  });
});
