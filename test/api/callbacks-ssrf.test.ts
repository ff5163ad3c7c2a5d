import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { destinationsFor, type Destinations, type ResolvedAddress } from '../../src/callbacks/destinations';
import { deliverDue } from '../../src/callbacks/worker';
import type { Config } from '../../src/config';
import { nonPublicReason } from '../../src/shared/ip-address';
import { aCase, anInvoice, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

/**
 * A port on this machine that a callback must never reach: it counts every TCP connection, on
 * any local address (it listens on "::", so 127.0.0.1, 127.0.0.2, ::1 and ::ffff:127.0.0.1 alike),
 * with the address it was reached at and its first bytes (a TLS ClientHello names the host).
 */
class Listener {
  connections: { local: string; first: Buffer | null }[] = [];
  private server: net.Server | null = null;
  port = 0;

  async start(): Promise<this> {
    this.server = net.createServer((socket) => {
      const c = { local: socket.localAddress ?? '', first: null as Buffer | null };
      this.connections.push(c);
      socket.once('data', (b) => {
        c.first = b;
        socket.destroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '::', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.close();
  }

  /** Connections made to a local address, as the listener saw it (IPv4 through the dual-stack socket comes as ::ffff:a.b.c.d). */
  to(address: string): number {
    return this.connections.filter((c) => c.local === address || c.local === `::ffff:${address}`).length;
  }
}

/** A stub for dns.lookup: answers what the test says, and counts the questions. */
function stubResolver(answer: (hostname: string, call: number) => string[]) {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    return answer(hostname, calls.length).map((address) => ({ address, family: net.isIP(address) }));
  };
  return { calls, resolve };
}

const HOST = 'cases.court.example';
/** Only loopback is reachable in tests: 127.0.0.2 stands in for the receiver's public address, everything else is judged as in production. */
const STAND_IN = '127.0.0.2';
const standInIsPublic = (address: string) => (address === STAND_IN ? null : nonPublicReason(address));
const later = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);
/** A court few other tests put invoices in, so no other file's messages come due for this file's endpoints meanwhile. */
const COURT = '1421';

describe('callbacks under the production destination policy (SSRF)', () => {
  let admin: string;
  let caseSystem: string;
  const endpoints: string[] = [];
  const policies: Destinations[] = [];
  let listener: Listener;

  before(async () => {
    admin = await keyFor('admin', 'all');
    caseSystem = await keyFor('case_system', 'all');
  });

  beforeEach(async () => {
    listener = await new Listener().start();
  });

  afterEach(async () => {
    if (endpoints.length) await testEnv().knex('callback_endpoints').whereIn('public_id', endpoints.splice(0)).update({ enabled: false });
    for (const p of policies.splice(0)) await p.close();
    await listener.stop();
  });

  /** The production configuration, allow-listing `allowedHosts`. */
  function production(allowedHosts: string[]): Readonly<Config> {
    const c = testEnv().config;
    return { ...c, env: 'production', callbacks: { ...c.callbacks, timeoutMs: 1000, retryScheduleSeconds: [60, 300, 1800], allowedHosts } } as Config;
  }

  function policy(config: Readonly<Config>, o: Parameters<typeof destinationsFor>[1]): Destinations {
    const d = destinationsFor(config, o);
    policies.push(d);
    return d;
  }

  /** An endpoint on the allow-listed name, at the listener's port (registered through the API; the test service runs the test policy). */
  async function anEndpoint(): Promise<string> {
    const res = await api().post('/v1/callback-endpoints').set(auth(admin)).send({ url: `https://${HOST}:${listener.port}/courtpay/callbacks`, courtCodes: [COURT], eventTypes: ['invoice.issued'] });
    expect(res.status, res.text).to.equal(201);
    endpoints.push(res.body.id);
    return res.body.id;
  }

  /** The invoice.issued message for an invoice, as an admin sees it: its status and attempts. */
  async function messageFor(endpointId: string, invoiceId: string) {
    const list = await api().get(`/v1/callback-messages?endpointId=${endpointId}`).set(auth(admin));
    const m = (list.body.data as { id: string; invoiceId: string }[]).find((x) => x.invoiceId === invoiceId);
    expect(m, 'message queued').to.not.equal(undefined);
    const detail = await api().get(`/v1/callback-messages/${m!.id}`).set(auth(admin));
    expect(detail.status).to.equal(200);
    return detail.body as { status: string; attempts: { error: string | null; statusCode: number | null; delivered: boolean }[] };
  }

  it('when an allow-listed name resolves to a loopback, private, link-local, site-local or NAT64/IPv4-compatible address, then nothing connects and the attempt records only a generic refusal', async () => {
    const endpointId = await anEndpoint();
    const config = production([HOST]);
    const refused = ['127.0.0.1', '::1', '::ffff:127.0.0.1', '::7f00:1', '64:ff9b::7f00:1', 'fec0::1', '10.0.0.1', '169.254.169.254', '100.64.0.1', 'fd00::1'];
    let answer = '';
    const dns = stubResolver(() => [answer]);
    const prod = policy(config, { resolve: dns.resolve });
    for (const address of refused) {
      answer = address;
      const asked = dns.calls.length;
      const invoice = await anInvoice(caseSystem, await aCase(caseSystem, { courtCode: COURT }));
      await deliverDue(testEnv().knex, config, new Date(), undefined, prod);
      expect(dns.calls.slice(asked), address).to.deep.equal([HOST]); // resolved at send time
      const m = await messageFor(endpointId, invoice.id);
      expect(m.status, address).to.equal('pending');
      expect(m.attempts, address).to.deep.equal([{ ...m.attempts[0], error: 'destination refused by policy', statusCode: null, delivered: false }]);
    }
    expect(listener.connections, 'connections to the local port').to.deep.equal([]);

    // A name answering one public and one private address is refused as well: no picking the good one.
    answer = '';
    const mixed = policy(config, { resolve: stubResolver(() => [STAND_IN, '127.0.0.1']).resolve, refuses: standInIsPublic });
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem, { courtCode: COURT }));
    await deliverDue(testEnv().knex, config, new Date(), undefined, mixed);
    expect((await messageFor(endpointId, invoice.id)).attempts.map((a) => a.error)).to.deep.equal(['destination refused by policy']);
    expect(listener.connections).to.deep.equal([]);

    // The same stub under the development policy does connect, to the address it answered: the refusals above were the policy's.
    const dev = policy(testEnv().config, { resolve: stubResolver(() => ['127.0.0.1']).resolve });
    const seen = await anInvoice(caseSystem, await aCase(caseSystem, { courtCode: COURT }));
    await deliverDue(testEnv().knex, { ...config, env: 'test' } as Config, new Date(), undefined, dev);
    expect(listener.to('127.0.0.1')).to.equal(1);
    expect((await messageFor(endpointId, seen.id)).attempts.map((a) => a.error)).to.deep.equal(['delivery failed']); // the socket error itself is never recorded
  });

  it('when a URL was stored under a looser policy and the policy tightens, then the next send is refused without resolving or connecting', async () => {
    const endpointId = await anEndpoint();
    const loose = production(['.court.example']);
    const dns = stubResolver(() => [STAND_IN]);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem, { courtCode: COURT }));
    const t0 = new Date();
    await deliverDue(testEnv().knex, loose, t0, undefined, policy(loose, { resolve: dns.resolve, refuses: standInIsPublic }));
    expect(listener.to(STAND_IN)).to.equal(1); // sent (the receiver here speaks no TLS, so it failed and will be retried)
    expect(dns.calls).to.have.length(1);

    const tight = production(['other-cases.court.example']);
    await deliverDue(testEnv().knex, tight, later(t0, 61), undefined, policy(tight, { resolve: dns.resolve, refuses: standInIsPublic }));
    const m = await messageFor(endpointId, invoice.id);
    expect(m.attempts.map((a) => a.error)).to.deep.equal(['delivery failed', 'destination refused by policy']);
    expect(listener.connections).to.have.length(1);
    expect(dns.calls).to.have.length(1);

    // Stored in development as plain http to a local receiver: production refuses it at send time too.
    const local = await api().patch(`/v1/callback-endpoints/${endpointId}`).set(auth(admin)).send({ url: `http://127.0.0.1:${listener.port}/cb` });
    expect(local.status, local.text).to.equal(200);
    const strict = production(['127.0.0.1']);
    await deliverDue(testEnv().knex, strict, later(t0, 61 + 301), undefined, policy(strict, { resolve: dns.resolve }));
    expect((await messageFor(endpointId, invoice.id)).attempts.map((a) => a.error)).to.deep.equal(['delivery failed', 'destination refused by policy', 'destination refused by policy']);
    expect(listener.connections).to.have.length(1);
  });

  it('when the name answers a public address to the check and a private one after (DNS rebinding), then the connection goes only to the checked address, and each new connection is checked again', async () => {
    const endpointId = await anEndpoint();
    const config = production([HOST]);
    const dns = stubResolver((_h, call) => (call === 1 ? [STAND_IN] : ['127.0.0.1']));
    const prod = policy(config, { resolve: dns.resolve, refuses: standInIsPublic });
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem, { courtCode: COURT }));
    const t0 = new Date();
    await deliverDue(testEnv().knex, config, t0, undefined, prod);
    for (let i = 0; i < 50 && !listener.connections[0]?.first; i += 1) await new Promise((ok) => setTimeout(ok, 10));
    expect(dns.calls).to.deep.equal([HOST]); // one answer per connection, the one that was checked
    expect(listener.connections.map((c) => c.local)).to.deep.equal([`::ffff:${STAND_IN}`]);
    expect(listener.to('127.0.0.1')).to.equal(0);
    // Pinned to the address, still speaking to the name: TLS names it (SNI), so its certificate is checked against it.
    expect(listener.connections[0].first!.includes(Buffer.from(HOST))).to.equal(true);

    // The receiver dropped that connection; the retry opens a new one, resolves again, and is refused.
    await deliverDue(testEnv().knex, config, later(t0, 61), undefined, prod);
    expect(dns.calls).to.deep.equal([HOST, HOST]);
    expect(listener.to('127.0.0.1')).to.equal(0);
    expect(listener.connections).to.have.length(1);
    expect((await messageFor(endpointId, invoice.id)).attempts.map((a) => a.error)).to.deep.equal(['delivery failed', 'destination refused by policy']);
  });
});
