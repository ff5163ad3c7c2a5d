import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Principal } from '../../src/auth/principal';
import { emitCallback } from '../../src/callbacks/emit';
import { callbackData } from '../../src/callbacks/payload';
import { checkCallbackUrl } from '../../src/callbacks/url-policy';
import { deliverDue, emitOverdue, startCallbackWorker } from '../../src/callbacks/worker';
import type { Config } from '../../src/config';
import { issueInvoice } from '../../src/invoices/invoices';
import { aCase, aPayment, anInvoice, api, auth } from '../support/builders';
import { keyFor, testConfig, testEnv } from '../support/env';

/** The README's verification recipe, as a case system would write it. */
function verify(secret: string, header: string, rawBody: string): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex');
  return parts.some(([k, v]) => k === 'v1' && v.length === expected.length && crypto.timingSafeEqual(Buffer.from(v), Buffer.from(expected)));
}

interface Received {
  deliveryId: string;
  signature: string;
  raw: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, any> };
}

/** A real case system stand-in on 127.0.0.1: answers `reply` (a status, or 'hang'), and can go down and come back on its port. */
class Receiver {
  received: Received[] = [];
  reply: number | 'hang' = 204;
  hits = 0;
  private server: http.Server | null = null;
  port = 0;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.hits += 1;
        if (req.url === '/elsewhere') return void res.writeHead(204).end();
        if (this.reply === 'hang') return; // never answers
        if (this.reply >= 200 && this.reply < 300) {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.received.push({ deliveryId: String(req.headers['courtpay-delivery']), signature: String(req.headers['courtpay-signature']), raw, body: JSON.parse(raw) });
        }
        if (this.reply >= 300 && this.reply < 400) res.setHeader('location', `http://127.0.0.1:${this.port}/elsewhere`);
        res.writeHead(this.reply).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/courtpay/callbacks`;
  }

  about(invoiceId: string): Received[] {
    return this.received.filter((r) => r.body.data.id === invoiceId || r.body.data.invoice?.id === invoiceId);
  }
}

const ALL_TYPES = ['invoice.issued', 'invoice.cancelled', 'invoice.overdue', 'invoice.paid', 'invoice.partially_paid'];
const later = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);

describe('callbacks to case systems', () => {
  let admin: string;
  let caseSystem: string;
  let config: Readonly<Config>;
  const receivers: Receiver[] = [];
  const endpoints: string[] = [];

  before(async () => {
    admin = await keyFor('admin', 'all');
    caseSystem = await keyFor('case_system', 'all');
    config = testConfig({ callbacks: { timeoutMs: 300, retryScheduleSeconds: [60, 300], batchSize: 50 } });
  });

  /** Other tests' invoices must not queue messages to this file's receivers, nor its workers send them. */
  afterEach(async () => {
    if (endpoints.length) await testEnv().knex('callback_endpoints').whereIn('public_id', endpoints.splice(0)).update({ enabled: false });
    for (const r of receivers.splice(0)) await r.stop();
  });

  async function receiver(): Promise<Receiver> {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  }

  async function anEndpoint(url: string, o: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
    const res = await api().post('/v1/callback-endpoints').set(auth(admin)).send({ url, courtCodes: ['1411'], eventTypes: ALL_TYPES, ...o });
    expect(res.status, res.text).to.equal(201);
    endpoints.push(res.body.id);
    return res.body;
  }

  /** The worker's loop, run by hand until nothing more is due at `now`. */
  async function drain(now = new Date()): Promise<void> {
    for (let i = 0; i < 20 && (await deliverDue(testEnv().knex, config, now)).claimed > 0; i += 1);
  }

  async function messagesOf(endpointId: string, status?: string) {
    const res = await api().get(`/v1/callback-messages?endpointId=${endpointId}${status ? `&status=${status}` : ''}`).set(auth(admin));
    expect(res.status).to.equal(200);
    return res.body.data as { id: string; type: string; status: string; invoiceId: string }[];
  }

  it('when a payment settles through the webhook path, then invoice.paid carries the invoice paid and the payment as it now stands', async () => {
    const r = await receiver();
    await anEndpoint(r.url);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    const payment = await aPayment(invoice.id);
    await drain();
    const paid = r.about(invoice.id).find((m) => m.body.type === 'invoice.paid');
    expect(paid, 'invoice.paid delivered').to.not.equal(undefined);
    expect(paid!.body.data).to.include({ id: invoice.id, status: 'paid', paidAmount: invoice.amount, outstanding: 0 });
    expect(paid!.body.data.payment).to.include({ id: payment.public_id, status: 'succeeded', settledAmount: invoice.amount });
    expect(paid!.body.data.totals).to.deep.equal({ due: invoice.amount, paid: invoice.amount, refunded: 0, outstanding: 0 });
    expect(r.about(invoice.id).map((m) => m.body.type)).to.deep.equal(['invoice.issued', 'invoice.paid']);
  });

  it('when a reduced claim leaves a part-paid invoice covered, then invoice.paid is queued with the invoice as it now stands; a withdrawal of an unpaid one queues none', async () => {
    const endpoint = await anEndpoint('https://cases.example/hook');
    const number = await aCase(caseSystem);
    const invoice = await anInvoice(caseSystem, number, { claimAmount: 750_000_000 });
    await aPayment(invoice.id, { amount: 3080000 });
    const res = await api().post(`/v1/cases/${encodeURIComponent(number)}/outcome`).set(auth(caseSystem)).send({ outcome: 'claim_reduced', newClaimAmount: 300_000_000, effectiveDate: '2026-11-20' });
    expect(res.body.invoicesLowered).to.deep.equal([{ id: invoice.id, amountBefore: 6430000, amountAfter: 3080000, status: 'paid' }]);
    const paid = (await messagesOf(endpoint.id)).filter((m) => m.invoiceId === invoice.id && m.type === 'invoice.paid');
    expect(paid).to.have.length(1);
    const [row] = await testEnv().knex('callback_messages').where({ public_id: paid[0].id }).select('payload');
    expect(JSON.parse(row.payload).data).to.include({ id: invoice.id, amount: 3080000, paidAmount: 3080000, status: 'paid' });

    const other = await aCase(caseSystem);
    const unpaid = await anInvoice(caseSystem, other, { claimAmount: 5_000_000 });
    await api().post(`/v1/cases/${encodeURIComponent(other)}/outcome`).set(auth(caseSystem)).send({ outcome: 'withdrawn', effectiveDate: '2026-11-20' }).expect(201);
    expect((await messagesOf(endpoint.id)).filter((m) => m.invoiceId === unpaid.id).map((m) => m.type)).to.deep.equal(['invoice.issued']);
  });

  it('when an admin registers an endpoint and a case system issues an invoice, then the receiver gets a signed invoice.issued with the invoice and the case totals', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url, { description: 'case system of 1411' });
    expect(endpoint.secret).to.match(/^cbsec_/);
    const shown = await api().get(`/v1/callback-endpoints/${endpoint.id}`).set(auth(admin));
    expect(shown.body).to.not.have.property('secret');
    expect(JSON.stringify(shown.body)).to.not.include(endpoint.secret);

    const caseNumber = await aCase(caseSystem);
    const invoice = await anInvoice(caseSystem, caseNumber);
    await drain();

    const [got] = r.about(invoice.id);
    expect(got.body.type).to.equal('invoice.issued');
    expect(got.body.data.id).to.equal(invoice.id);
    expect(got.body.data.amount).to.equal(invoice.amount);
    expect(got.body.data.paymentUrl).to.equal(invoice.paymentUrl);
    expect(got.body.data.totals).to.deep.equal({ due: invoice.amount, paid: 0, refunded: 0, outstanding: invoice.amount });
    expect(got.deliveryId).to.equal(got.body.id).and.match(/^cbm_/);
    expect(verify(endpoint.secret, got.signature, got.raw)).to.equal(true);
    expect(verify('cbsec_someone_else', got.signature, got.raw)).to.equal(false);

    const detail = await api().get(`/v1/callback-messages/${got.body.id}`).set(auth(admin));
    expect(detail.body).to.include({ status: 'delivered', type: 'invoice.issued', invoiceId: invoice.id, endpointId: endpoint.id });
    expect(detail.body.attempts).to.have.length(1);
    expect(detail.body.attempts[0]).to.include({ attempt: 1, statusCode: 204, delivered: true, error: null });
    expect(detail.body.attempts[0].latencyMs).to.be.a('number');
    const health = await api().get(`/v1/callback-endpoints/${endpoint.id}`).set(auth(admin));
    expect(health.body.health.delivered).to.be.at.least(1);
  });

  it('when the change that emits is rolled back, then no message is written; when it commits, one is', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    const caseNumber = await aCase(caseSystem);
    const principal: Principal = { kind: 'api_key', keyId: 'test', name: 'test', roles: ['case_system'], allCourts: true, courts: new Set(), person: null };
    const input = { feeKind: 'acceptance_labour' as const, payer: { name: '赵六', role: 'plaintiff' } };
    await testEnv().knex.transaction(async (tx) => {
      await issueInvoice(tx, testEnv().config, principal, caseNumber, input);
      throw new Error('rolled back on purpose');
    }).catch((e: Error) => expect(e.message).to.equal('rolled back on purpose'));
    expect(await messagesOf(endpoint.id)).to.have.length(0);

    await testEnv().knex.transaction((tx) => issueInvoice(tx, testEnv().config, principal, caseNumber, input));
    expect((await messagesOf(endpoint.id)).map((m) => m.type)).to.deep.equal(['invoice.issued']);
  });

  it('when the receiver is down, then the attempt is recorded and retried on schedule, and delivered once it is up', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    await r.stop();
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    const t0 = new Date();
    await drain(t0);
    let [m] = await messagesOf(endpoint.id);
    expect(m.status).to.equal('pending');
    await drain(later(t0, 30)); // not due yet: the first retry waits 60 s
    expect(r.hits).to.equal(0);

    await r.start(); // back up on the same port
    await drain(later(t0, 61));
    expect(r.about(invoice.id).map((x) => x.body.type)).to.deep.equal(['invoice.issued']);
    [m] = await messagesOf(endpoint.id);
    const detail = await api().get(`/v1/callback-messages/${m.id}`).set(auth(admin));
    expect(detail.body.status).to.equal('delivered');
    expect(detail.body.attempts.map((a: { delivered: boolean }) => a.delivered)).to.deep.equal([false, true]);
    expect(detail.body.attempts[0].error).to.equal('delivery failed'); // never the socket error: it would map ports
    expect(detail.body.attempts[0].statusCode).to.equal(null);
  });

  it('when the receiver always fails, then the message is dead after the schedule, listed as dead, and a replay delivers it', async () => {
    const r = await receiver();
    r.reply = 500;
    const endpoint = await anEndpoint(r.url);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    const t0 = new Date();
    await drain(t0);
    await drain(later(t0, 61));
    expect((await messagesOf(endpoint.id, 'pending')).length).to.equal(1);
    await drain(later(t0, 61 + 301));
    const [dead] = await messagesOf(endpoint.id, 'dead');
    expect(dead.invoiceId).to.equal(invoice.id);
    expect(r.hits).to.equal(3); // the first attempt and one per scheduled retry
    const detail = await api().get(`/v1/callback-messages/${dead.id}`).set(auth(admin));
    expect(detail.body.attempts.map((a: { statusCode: number }) => a.statusCode)).to.deep.equal([500, 500, 500]);

    r.reply = 200;
    const replay = await api().post(`/v1/callback-messages/${dead.id}/replay`).set(auth(admin));
    expect(replay.status).to.equal(200);
    expect(replay.body.status).to.equal('pending');
    const again = await api().post(`/v1/callback-messages/${dead.id}/replay`).set(auth(admin));
    expect(again.status).to.equal(409);
    expect(again.body.code).to.equal('callback_message_pending');
    await drain();
    expect(r.about(invoice.id)).to.have.length(1);
    expect(r.about(invoice.id)[0].deliveryId).to.equal(dead.id);
    expect(await messagesOf(endpoint.id, 'delivered')).to.have.length(1);
  });

  it('when every message of an endpoint died, then replay-failed queues them all again and they are delivered', async () => {
    const r = await receiver();
    r.reply = 503;
    const endpoint = await anEndpoint(r.url);
    const caseNumber = await aCase(caseSystem);
    await anInvoice(caseSystem, caseNumber);
    await anInvoice(caseSystem, caseNumber);
    const t0 = new Date();
    for (const s of [0, 61, 400]) await drain(later(t0, s));
    expect(await messagesOf(endpoint.id, 'dead')).to.have.length(2);
    r.reply = 204;
    const res = await api().post(`/v1/callback-endpoints/${endpoint.id}/replay-failed`).set(auth(admin));
    expect(res.body).to.deep.equal({ endpointId: endpoint.id, replayed: 2 });
    await drain();
    expect(r.received).to.have.length(2);
  });

  it('when two workers deliver at once, then every message is sent exactly once, with one attempt each', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    const caseNumbers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => aCase(caseSystem)));
    for (const n of caseNumbers) for (let i = 0; i < 4; i += 1) await anInvoice(caseSystem, n);
    const small = testConfig({ callbacks: { batchSize: 3, timeoutMs: 2000 } });
    const worker = async () => {
      while ((await deliverDue(testEnv().knex, small)).claimed > 0);
    };
    await Promise.all([worker(), worker()]);
    const ids = r.received.map((x) => x.deliveryId);
    expect(ids).to.have.length(24);
    expect(new Set(ids).size).to.equal(24);
    const { knex } = testEnv();
    const [{ n }] = await knex('callback_attempts as a').join('callback_messages as m', 'm.id', 'a.message_id').join('callback_endpoints as e', 'e.id', 'm.endpoint_id')
      .where('e.public_id', endpoint.id).count<{ n: string }[]>('* as n');
    expect(Number(n)).to.equal(24);
  });

  it('when an earlier message for an invoice is still failing, then a later one for it waits behind it', async () => {
    const r = await receiver();
    r.reply = 500;
    const endpoint = await anEndpoint(r.url);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    const t0 = new Date();
    await drain(t0); // invoice.issued fails
    const cancel = await api().post(`/v1/invoices/${invoice.id}/cancel`).set(auth(caseSystem));
    expect(cancel.status).to.equal(200);
    r.reply = 204;
    await drain(later(t0, 10)); // invoice.cancelled is due, but invoice.issued is pending before it
    expect(r.received).to.have.length(0);
    await drain(later(t0, 61));
    expect(r.about(invoice.id).map((x) => x.body.type)).to.deep.equal(['invoice.issued', 'invoice.cancelled']);
    expect(r.about(invoice.id)[1].body.data).to.include({ status: 'cancelled' });
    expect(r.about(invoice.id)[1].body.data.totals.due).to.equal(0);
    expect((await messagesOf(endpoint.id, 'delivered')).length).to.equal(2);
  });

  it('when one claim takes an invoice\'s messages together and the first fails, then the later one is not sent nor counted, and follows it in order', async () => {
    const r = await receiver();
    r.reply = 500;
    const endpoint = await anEndpoint(r.url);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    expect((await api().post(`/v1/invoices/${invoice.id}/cancel`).set(auth(caseSystem))).status).to.equal(200);
    const t0 = new Date();
    const report = await deliverDue(testEnv().knex, config, t0);
    expect(report).to.include({ claimed: 2, delivered: 0, retrying: 1, dead: 0 });
    expect(r.hits).to.equal(1); // invoice.cancelled was claimed with it, and given back unsent
    const [cancelled, issued] = await messagesOf(endpoint.id);
    expect([issued.type, cancelled.type]).to.deep.equal(['invoice.issued', 'invoice.cancelled']);
    const detail = async (id: string) => (await api().get(`/v1/callback-messages/${id}`).set(auth(admin))).body;
    expect((await detail(cancelled.id)).attempts).to.have.length(0);
    expect((await detail(cancelled.id)).attemptCount).to.equal(0);
    expect(new Date((await detail(cancelled.id)).nextAttemptAt).getTime()).to.be.at.least(new Date((await detail(issued.id)).nextAttemptAt).getTime());

    r.reply = 204;
    await drain(later(t0, 61));
    expect(r.about(invoice.id).map((x) => x.body.type)).to.deep.equal(['invoice.issued', 'invoice.cancelled']);
    expect((await detail(issued.id)).attempts.map((a: { delivered: boolean }) => a.delivered)).to.deep.equal([false, true]);
    expect((await detail(cancelled.id)).attempts.map((a: { attempt: number; delivered: boolean }) => [a.attempt, a.delivered])).to.deep.equal([[1, true]]);
  });

  it('when two pipelined workers with large batches deliver several messages per invoice, then each is sent once, with one attempt, in order per invoice', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    const caseNumber = await aCase(caseSystem);
    const invoices = [];
    for (let i = 0; i < 8; i += 1) invoices.push(await anInvoice(caseSystem, caseNumber));
    for (const inv of invoices.slice(0, 5)) expect((await api().post(`/v1/invoices/${inv.id}/cancel`).set(auth(caseSystem))).status).to.equal(200);
    const big = testConfig({ callbacks: { pollIntervalMs: 50, batchSize: 200, timeoutMs: 2000 } });
    const workers = [startCallbackWorker(testEnv().knex, big), startCallbackWorker(testEnv().knex, big)];
    try {
      for (let i = 0; i < 200 && r.received.length < 13; i += 1) await new Promise((ok) => setTimeout(ok, 20));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const ids = r.received.map((x) => x.deliveryId);
    expect(ids).to.have.length(13);
    expect(new Set(ids).size).to.equal(13);
    for (const inv of invoices) {
      expect(r.about(inv.id).map((x) => x.body.type)).to.deep.equal(invoices.indexOf(inv) < 5 ? ['invoice.issued', 'invoice.cancelled'] : ['invoice.issued']);
    }
    const { knex } = testEnv();
    const rows = await knex('callback_messages as m').join('callback_endpoints as e', 'e.id', 'm.endpoint_id').where('e.public_id', endpoint.id)
      .select('m.status', 'm.attempts', knex.raw('(select count(*)::int from callback_attempts a where a.message_id = m.id) as recorded'));
    expect(rows).to.have.length(13);
    for (const row of rows) expect(row).to.deep.equal({ status: 'delivered', attempts: 1, recorded: 1 });
  });

  it('when the secret is rotated, then both secrets sign during the overlap and only the new one after it', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    const rotated = await api().post(`/v1/callback-endpoints/${endpoint.id}/rotate-secret`).set(auth(admin));
    expect(rotated.status).to.equal(200);
    expect(rotated.body.secret).to.match(/^cbsec_/).and.not.equal(endpoint.secret);
    const caseNumber = await aCase(caseSystem);
    await anInvoice(caseSystem, caseNumber);
    await drain();
    const [during] = r.received;
    expect(verify(endpoint.secret, during.signature, during.raw)).to.equal(true);
    expect(verify(rotated.body.secret, during.signature, during.raw)).to.equal(true);

    await anInvoice(caseSystem, caseNumber);
    await drain(later(new Date(), 25 * 3600)); // the 24 h overlap has passed
    const after = r.received[1];
    expect(verify(rotated.body.secret, after.signature, after.raw)).to.equal(true);
    expect(verify(endpoint.secret, after.signature, after.raw)).to.equal(false);
  });

  it('when the receiver redirects or hangs, then the redirect is not followed and the hang is cut off at the timeout', async () => {
    const r = await receiver();
    r.reply = 302;
    const endpoint = await anEndpoint(r.url);
    await anInvoice(caseSystem, await aCase(caseSystem));
    await drain();
    expect(r.hits).to.equal(1); // /elsewhere was never called
    let [m] = await messagesOf(endpoint.id);
    let detail = await api().get(`/v1/callback-messages/${m.id}`).set(auth(admin));
    expect(detail.body.attempts[0].error).to.match(/HTTP 302: redirect .* not followed/);

    r.reply = 'hang';
    const started = Date.now();
    await drain(later(new Date(), 61));
    expect(Date.now() - started).to.be.below(3000);
    [m] = await messagesOf(endpoint.id);
    detail = await api().get(`/v1/callback-messages/${m.id}`).set(auth(admin));
    expect(detail.body.attempts[1].error).to.equal('timed out after 300 ms');
    expect(detail.body.status).to.equal('pending');
  });

  it('when an invoice passes its due date unpaid, then the daily check emits invoice.overdue once, however often it runs', async () => {
    const r = await receiver();
    const endpoint = await anEndpoint(r.url);
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    await testEnv().knex('invoices').where({ public_id: invoice.id }).update({ notice_date: '2026-01-01', due_date: '2026-01-05' });
    await emitOverdue(testEnv().knex, testEnv().config, '1411');
    await emitOverdue(testEnv().knex, testEnv().config, '1411');
    const overdue = (await messagesOf(endpoint.id)).filter((m) => m.type === 'invoice.overdue' && m.invoiceId === invoice.id);
    expect(overdue).to.have.length(1);
    await drain();
    const [got] = r.about(invoice.id).filter((x) => x.body.type === 'invoice.overdue');
    expect(got.body.data).to.include({ id: invoice.id, overdue: true, status: 'unpaid' });
  });

  it('when the endpoint is bad input, then it is refused with a clear field error', async () => {
    const bad = async (body: Record<string, unknown>, status: number, code: string) => {
      const res = await api().post('/v1/callback-endpoints').set(auth(admin)).send({ url: 'http://127.0.0.1:9/cb', courtCodes: ['1411'], eventTypes: ['invoice.paid'], ...body });
      expect(res.status, res.text).to.equal(status);
      expect(res.headers['content-type']).to.match(/application\/problem\+json/);
      expect(res.body.code === code || res.body.errors?.some((e: { code: string }) => e.code === code), res.text).to.equal(true);
    };
    await bad({ eventTypes: ['invoice.exploded'] }, 422, 'any.only');
    await bad({ courtCodes: ['9999'] }, 422, 'unknown_court');
    await bad({ url: 'ftp://cases.example/cb' }, 422, 'url_scheme_not_allowed');
    await bad({ url: 'not a url' }, 422, 'invalid_url');
    const scoped = await keyFor('admin', ['1412']);
    const res = await api().post('/v1/callback-endpoints').set(auth(scoped)).send({ url: 'http://127.0.0.1:9/cb', courtCodes: 'all', eventTypes: ['invoice.paid'] });
    expect(res.status).to.equal(403);
  });

  it('when in production, then only https URLs on the allow-list are accepted, never private or loopback addresses', () => {
    const prod = { ...testEnv().config, env: 'production', callbacks: { ...testEnv().config.callbacks, allowedHosts: ['cases.court.example', '.courts.gov.cn', '10.1.2.3'] } } as Config;
    const refused = (url: string) => {
      try {
        checkCallbackUrl(prod, url);
        return null;
      } catch (e) {
        return (e as { errors: { code: string }[] }).errors[0].code;
      }
    };
    expect(refused('https://cases.court.example/cb')).to.equal(null);
    expect(refused('https://sx.courts.gov.cn/cb')).to.equal(null);
    expect(refused('http://cases.court.example/cb')).to.equal('url_scheme_not_allowed');
    expect(refused('https://evil.example/cb')).to.equal('url_host_not_allowed');
    expect(refused('https://courts.gov.cn.evil.example/cb')).to.equal('url_host_not_allowed');
    expect(refused('https://localhost/cb')).to.equal('url_host_private');
    expect(refused('https://10.1.2.3/cb')).to.equal('url_host_private');
    expect(refused('https://127.0.0.1/cb')).to.equal('url_host_private');
    expect(refused('https://169.254.169.254/latest/meta-data')).to.equal('url_host_private');
    expect(refused('https://[::1]/cb')).to.equal('url_host_private');
    expect(refused('https://[::ffff:192.168.0.1]/cb')).to.equal('url_host_private');
    for (const literal of ['[::7f00:1]', '[64:ff9b::7f00:1]', '[fec0::1]', '[::ffff:7f00:1]', '[2002:7f00:1::]', '[fd00::1]', '0x7f.1', '2130706433', '100.64.0.1']) {
      expect(refused(`https://${literal}/cb`), literal).to.equal('url_host_private');
    }
    expect(refused('https://user:pw@cases.court.example/cb')).to.equal('url_credentials_not_allowed');
  });

  it('when the worker runs, then it delivers as changes happen, and stops cleanly', async () => {
    const r = await receiver();
    await anEndpoint(r.url);
    const worker = startCallbackWorker(testEnv().knex, testConfig({ callbacks: { pollIntervalMs: 50, batchSize: 4 } }));
    try {
      const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
      for (let i = 0; i < 100 && !r.about(invoice.id).length; i += 1) await new Promise((ok) => setTimeout(ok, 20));
      expect(r.about(invoice.id).map((x) => x.body.type)).to.deep.equal(['invoice.issued']);
    } finally {
      await worker.stop();
    }
  });

  it('when nobody subscribes to a type, then emitting it writes nothing', async () => {
    const invoice = await anInvoice(caseSystem, await aCase(caseSystem));
    const { knex } = testEnv();
    const row = await knex('invoices').where({ public_id: invoice.id }).first();
    const before = await knex('callback_messages').where({ invoice_id: row.id }).count<{ n: string }[]>('* as n');
    await knex.transaction((tx) => emitCallback(tx, { type: 'payment.disputed', invoiceId: row.id }, callbackData(testEnv().config)));
    const after = await knex('callback_messages').where({ invoice_id: row.id }).count<{ n: string }[]>('* as n');
    expect(after).to.deep.equal(before);
  });
});
