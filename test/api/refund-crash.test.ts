import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import type Stripe from 'stripe';
import request from 'supertest';
import * as submittingMigration from '../../db/migrations/20261201010000_refunds_submitting';
import { buildApp } from '../../src/http/app';
import { createStripeClient, type Processor } from '../../src/payments/processor';
import { sweepRefunds } from '../../src/refunds/sweep';
import { logger } from '../../src/shared/logger';
import { aCase, anInvoice, aPayment, api, auth } from '../support/builders';
import { keyFor, TEST_STRIPE, testEnv } from '../support/env';
import { anEvent, aRefund, deliver, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

/**
 * From the moment we may call the processor a refund is `submitting`, committed on its own: a
 * process that dies mid-submission leaves a refund nobody can cancel, and the sweep sends it again
 * with the same idempotency key, so the processor makes it exactly once and our books show it.
 */
describe('refunds: a crash mid-submission', () => {
  let cs: string, clerk: string, approver: string, approver2: string;
  let knex: Knex;
  before(async () => {
    knex = testEnv().knex;
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
    approver = await keyFor('approver', ['1411']);
    approver2 = await keyFor('approver', ['1411']);
  });
  afterEach(expectStripeStubsUsed);

  const refundRow = (id: string) => knex('refunds').where({ public_id: id }).first();
  const auditActions = async (id: string) => knex('audit_events').where({ entity_type: 'refund', entity_id: id }).orderBy('id').pluck('action');
  const ledgerKinds = async (paymentId: number) => knex('ledger_transactions').where({ payment_id: paymentId }).orderBy('id').pluck('kind');
  /** Everything a refused request must leave as it was: the refund, its trail, the books, the payment and invoice. */
  const snapshot = async (refundId: string, p: { id: number; invoice_id: number }) => ({
    refund: await refundRow(refundId),
    audit: await auditActions(refundId),
    ledger: await ledgerKinds(p.id),
    payment: await knex('payments').where({ id: p.id }).first(),
    invoice: await knex('invoices').where({ id: p.invoice_id }).first(),
  });
  /** The sweep, for this refund only: it alone is a day old, and the sweep takes what is over 12 hours old. */
  const sweepThisRefund = async (id: string, processor: Processor) => {
    await knex('refunds').where({ public_id: id }).update({ updated_at: new Date(Date.now() - 24 * 3600_000) });
    return sweepRefunds(knex, testEnv().config, processor, 12 * 60);
  };

  async function requested(amount: number) {
    const inv = await anInvoice(cs, await aCase(cs));
    const p = await aPayment(inv.id);
    const res = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount, reasonCode: 'overpayment' });
    expect(res.status, res.text).to.equal(201);
    return { p, id: res.body.id as string };
  }

  /** Every way a person could stop it: the requester's cancel, an approver's cancel, a reject, a second approval. All 409, as problem+json. */
  async function expectNobodyCanStop(id: string, status = 'submitting') {
    const tries = [
      api().post(`/v1/refunds/${id}/cancel`).set(auth(clerk)).send({ note: 'payer asked us to stop' }),
      api().post(`/v1/refunds/${id}/cancel`).set(auth(approver2)).send({}),
      api().post(`/v1/refunds/${id}/reject`).set(auth(approver2)).send({ note: 'changed our mind' }),
      api().post(`/v1/refunds/${id}/approve`).set(auth(approver2)).send({}),
    ];
    for (const t of tries) {
      const res = await t;
      expect(res.status, res.text).to.equal(409);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status: 409, code: `refund_${status}` });
    }
  }

  it('when the processor call is in flight, then the refund is submitting, nobody can cancel or reject it, and the processor\'s answer and webhook settle it once', async () => {
    const { p, id } = await requested(1500);
    // An app whose processor waits as long as it takes: the call is held open by the test, not by a timer.
    const { config, authenticator, processor } = testEnv();
    const patientStripe = createStripeClient(TEST_STRIPE.secretKey, { ...config, stripe: { ...config.stripe, timeoutMs: 120_000 } }, null);
    const patient = buildApp({ knex, config, authenticator, processor: { ...processor, stripe: patientStripe } });
    const keys: string[] = [];
    let answer!: (r: [number, unknown]) => void;
    const arrived = new Promise<void>((resolve) => {
      stripeApi().post('/v1/refunds').reply(function (_uri, _body, callback) {
        keys.push(String(this.req.headers['idempotency-key']));
        answer = (r) => callback(null, r as never);
        resolve();
      });
    });
    const approving = request(patient).post(`/v1/refunds/${id}/approve`).set(auth(approver)).send({}).then((r) => r);
    await arrived;

    expect(await refundRow(id), 'committed before the call').to.include({ status: 'submitting', processor_refund_id: null });
    expect((await refundRow(id)).submitted_at).to.be.instanceOf(Date);
    const before = await snapshot(id, p);
    expect(before.audit).to.deep.equal(['refund.requested', 'refund.approved', 'refund.submitting']);
    await expectNobodyCanStop(id);
    expect(await snapshot(id, p), 'nothing changed').to.deep.equal(before);

    const atStripe = aRefund({ amount: 1500, status: 'pending', payment_intent: p.payment_intent_id, metadata: { refund_id: id } });
    answer([200, atStripe]);
    const approved = await approving;
    expect(approved.status, approved.text).to.equal(200);
    expect(approved.body).to.include({ status: 'submitted', processorRefundId: atStripe.id });
    expect(keys).to.deep.equal([`courtpay-refund-${id}`]);
    await expectNobodyCanStop(id, 'submitted');

    await deliver(anEvent('refund.updated', { ...atStripe, status: 'succeeded' })).expect(200);
    expect(await refundRow(id)).to.include({ status: 'succeeded', processor_refund_id: atStripe.id });
    expect(await ledgerKinds(p.id)).to.deep.equal(['payment_settled', 'refund_settled']);
    expect(await auditActions(id)).to.deep.equal(['refund.requested', 'refund.approved', 'refund.submitting', 'refund.submitted', 'refund.succeeded']);
    expect(await knex('invoices').where({ id: p.invoice_id }).first()).to.include({ refunded_amount: 1500 });
    expect((await knex('payments').where({ id: p.id }).first()).refunded_amount).to.equal(1500);
  });

  it('when the process dies after the processor made the refund but before its answer was recorded, then cancel is 409 and changes nothing, a dispute leaves it, the sweep finds it at the processor by our id instead of sending it again, and the webhook settles it once', async () => {
    const { p, id } = await requested(2500);
    const atStripe = aRefund({ amount: 2500, status: 'pending', payment_intent: p.payment_intent_id, metadata: { refund_id: id } });
    const keys: string[] = [];
    const bodies: Record<string, string>[] = [];
    stripeApi().post('/v1/refunds').reply(function (_uri, body) {
      keys.push(String(this.req.headers['idempotency-key']));
      bodies.push(formBody(body));
      return [200, atStripe];
    });
    // Dead at that instant: the database takes nothing more from this submission once `submitting` is committed.
    await knex.raw(`create function test_dies_submitting() returns trigger language plpgsql as $$ begin raise exception 'process killed'; end $$;
      create trigger test_dies_submitting before update on refunds for each row when (old.status = 'submitting') execute function test_dies_submitting();`);
    logger.silent = true;
    let died;
    try {
      died = await api().post(`/v1/refunds/${id}/approve`).set(auth(approver)).send({});
    } finally {
      logger.silent = false;
      await knex.raw('drop trigger test_dies_submitting on refunds; drop function test_dies_submitting();');
    }
    expect(died.status).to.equal(500);
    expect(await refundRow(id), 'as a killed process leaves it').to.include({ status: 'submitting', processor_refund_id: null });

    const before = await snapshot(id, p);
    await expectNobodyCanStop(id);
    expect(await snapshot(id, p), 'nothing changed').to.deep.equal(before);
    // A dispute cancels the payment's refunds not yet sent; this one may have been sent, so it stays.
    await deliver(anEvent('charge.dispute.created', { id: `dp_${p.id}`, object: 'dispute', amount: p.amount, currency: 'cny', charge: p.charge_id, payment_intent: p.payment_intent_id, status: 'needs_response' })).expect(200);
    expect(await refundRow(id)).to.deep.equal(before.refund);

    // The processor has it: the sweep finds it by our refund id in its metadata and sends nothing again.
    const lookups: string[] = [];
    stripeApi().get('/v1/refunds').query(true).reply(function (uri) {
      lookups.push(uri);
      return [200, { object: 'list', url: '/v1/refunds', has_more: false, data: [aRefund({ amount: 9, metadata: {} }), atStripe] }];
    });
    const report = await sweepThisRefund(id, testEnv().processor);
    expect(report).to.include({ submitted: 1, errors: 0 });
    expect(lookups).to.have.length(1);
    expect(new URL(lookups[0], 'https://api.stripe.com').searchParams.get('payment_intent')).to.equal(p.payment_intent_id);
    expect(keys, 'the one request the dead process sent').to.deep.equal([`courtpay-refund-${id}`]);
    expect(bodies).to.have.length(1);
    expect(await refundRow(id)).to.include({ status: 'submitted', processor_refund_id: atStripe.id, processor_status: 'pending' });

    const settled = anEvent('refund.updated', { ...atStripe, status: 'succeeded' });
    await deliver(settled).expect(200);
    await deliver(anEvent('refund.updated', { ...atStripe, status: 'succeeded' })).expect(200);
    expect(await refundRow(id)).to.include({ status: 'succeeded' });
    expect(await ledgerKinds(p.id), 'what the processor paid back is in the books, once').to.deep.equal(['payment_settled', 'dispute_opened', 'refund_settled']);
    const trail = await knex('audit_events').where({ entity_type: 'refund', entity_id: id, action: 'refund.succeeded' });
    expect(trail).to.have.length(1);
    expect(trail[0].actor_type).to.equal('processor');
    expect(await knex('invoices').where({ id: p.invoice_id }).first()).to.include({ refunded_amount: 2500 });
  });

  it('when Stripe refuses the request outright, then the refund fails and its amount is free again; nothing is left submitting', async () => {
    const { p, id } = await requested(700);
    stripeApi().post('/v1/refunds').reply(400, { error: { type: 'invalid_request_error', message: 'Charge has already been refunded.' } });
    const res = await api().post(`/v1/refunds/${id}/approve`).set(auth(approver)).send({});
    expect(res.status, res.text).to.equal(200);
    expect(res.body.status).to.equal('failed');
    expect(await auditActions(id)).to.deep.equal(['refund.requested', 'refund.approved', 'refund.submitting', 'refund.failed']);
    expect(await ledgerKinds(p.id)).to.deep.equal(['payment_settled']);
    const again = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount: p.amount, reasonCode: 'overpayment' });
    expect(again.status, 'the whole payment is refundable again').to.equal(201);
  });

  it('when the previous version left a refund approved after a crash (it sent refunds while approved), then the migration makes it submitting, audited, nobody can cancel it, and the sweep sends it once', async () => {
    const { p, id } = await requested(1100);
    await knex('refunds').where({ public_id: id }).update({ status: 'approved', approved_by: 'api_key:key_before_upgrade', approved_at: new Date() });
    await submittingMigration.up(knex);
    expect(await refundRow(id)).to.include({ status: 'submitting', processor_refund_id: null });
    const moved = await knex('audit_events').where({ entity_type: 'refund', entity_id: id }).orderBy('id', 'desc').first();
    expect(moved).to.include({ action: 'refund.submitting', actor_type: 'system', actor_id: 'migration:20261201010000' });
    const before = await snapshot(id, p);
    await expectNobodyCanStop(id);
    expect(await snapshot(id, p), 'nothing changed').to.deep.equal(before);

    const keys: string[] = [];
    // The processor has no refund of ours for the payment (another's is there): it is sent, once.
    stripeApi().get('/v1/refunds').query({ payment_intent: p.payment_intent_id, limit: '100' })
      .reply(200, { object: 'list', url: '/v1/refunds', has_more: false, data: [aRefund({ amount: 300, payment_intent: p.payment_intent_id, metadata: { refund_id: 'rf_someone_else' } })] });
    stripeApi().post('/v1/refunds').reply(function (_uri, body) {
      keys.push(String(this.req.headers['idempotency-key']));
      return [200, aRefund({ amount: Number(formBody(body).amount), status: 'succeeded', payment_intent: p.payment_intent_id, metadata: { refund_id: id } })];
    });
    expect(await sweepThisRefund(id, testEnv().processor)).to.include({ submitted: 1, errors: 0 });
    expect(keys).to.deep.equal([`courtpay-refund-${id}`]);
    expect(await refundRow(id)).to.include({ status: 'succeeded' });
    expect(await ledgerKinds(p.id)).to.deep.equal(['payment_settled', 'refund_settled']);
  });

  it('when the processor cannot be asked whether it already has a re-sent refund, then nothing is sent and nothing decided: the refund stays submitting for the next sweep', async () => {
    const { p, id } = await requested(1300);
    await knex('refunds').where({ public_id: id }).update({ status: 'submitting', approved_by: 'api_key:key_other', approved_at: new Date(), submitted_at: new Date() });
    const before = await snapshot(id, p);
    stripeApi().get('/v1/refunds').query(true).reply(404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } });
    logger.silent = true;
    let report;
    try {
      report = await sweepThisRefund(id, testEnv().processor);
    } finally {
      logger.silent = false;
    }
    expect(report).to.include({ submitted: 0, errors: 1 });
    const after = await snapshot(id, p);
    expect({ ...after, refund: { ...after.refund, updated_at: null } }, 'no create was sent (nock would refuse it) and nothing changed')
      .to.deep.equal({ ...before, refund: { ...before.refund, updated_at: null } });
    await knex('refunds').where({ public_id: id }).update({ updated_at: new Date() }); // out of the later tests' sweeps
  });

  describe('a real SIGKILL of the service while the processor holds the refund call', () => {
    const ROOT = path.resolve(__dirname, '../..');
    const children = new Set<ChildProcess>();
    let standIn: StripeStandIn | null = null;
    afterEach(async () => {
      for (const c of children) await stopChild(c, 'SIGKILL');
      children.clear();
      await standIn?.close();
      standIn = null;
    });

    /** `npm start` as operators run it (tsx src/main.ts), on this run's schema, with Stripe at the stand-in. */
    async function startMain(stripeBase: string): Promise<{ child: ChildProcess; base: string }> {
      const env = {
        PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR,
        NODE_ENV: 'test', LOG_LEVEL: 'error', PORT: '0', DATABASE_URL: testEnv().config.db.url!, PUBLIC_BASE_URL: 'https://pay.courts.example',
        STRIPE_SECRET_KEY: TEST_STRIPE.secretKey, STRIPE_WEBHOOK_SECRET: TEST_STRIPE.webhookSecret, STRIPE_API_BASE: stripeBase,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let out = '';
      const base = await new Promise<string>((resolve, reject) => {
        const seen = (chunk: Buffer) => {
          out += chunk.toString();
          const m = /courtpay is running at http:\/\/localhost:(\d+)/.exec(out);
          if (m) resolve(`http://127.0.0.1:${m[1]}`);
        };
        child.stdout!.on('data', seen);
        child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
        child.once('exit', (code) => reject(new Error(`the service exited (${code}) before listening:\n${out}`)));
      });
      return { child, base };
    }
    const call = async (base: string, key: string, method: string, p: string, body?: unknown) => {
      const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.json() };
    };

    it('when the service is killed -9 mid-call and restarted, then cancel is refused, the sweep finds the refund the processor made, and exactly one processor refund exists and is in our books', async function () {
      if (testEnv().embedded) this.skip(); // the spawned service and this process would both need the one embedded database
      this.timeout(45_000);
      standIn = await stripeStandIn();
      const inv = await anInvoice(cs, await aCase(cs));
      const p = await aPayment(inv.id);

      const first = await startMain(standIn.url);
      const asked = await call(first.base, clerk, 'POST', `/v1/payments/${p.public_id}/refunds`, { amount: 38366, reasonCode: 'overpayment' });
      expect(asked.status, JSON.stringify(asked.body)).to.equal(201);
      const id = asked.body.id as string;
      void call(first.base, approver, 'POST', `/v1/refunds/${id}/approve`, {}).catch(() => undefined); // never answered: the process dies
      await standIn.firstRefundArrived;
      await stopChild(first.child, 'SIGKILL');
      children.delete(first.child);
      expect(standIn.created.size, 'the processor made it').to.equal(1);
      const left = await refundRow(id);
      expect(left, 'what the dead process left').to.include({ status: 'submitting', processor_refund_id: null });

      const second = await startMain(standIn.url);
      const before = await snapshot(id, p);
      const cancel = await call(second.base, clerk, 'POST', `/v1/refunds/${id}/cancel`, { note: 'cancel after the restart' });
      expect(cancel.status, JSON.stringify(cancel.body)).to.equal(409);
      expect(cancel.type).to.match(/^application\/problem\+json/);
      expect(cancel.body.code).to.equal('refund_submitting');
      expect(await snapshot(id, p), 'the refused cancel changed nothing').to.deep.equal(before);

      const sweeper: Processor = { ...testEnv().processor, stripe: createStripeClient(TEST_STRIPE.secretKey, testEnv().config, standIn.url) };
      const report = await sweepThisRefund(id, sweeper);
      expect(report).to.include({ submitted: 1, errors: 0 });
      const ours = standIn.requests.filter((r) => r.body['metadata[refund_id]'] === id);
      expect(ours.map((r) => r.key), 'found by our id, not sent again').to.deep.equal([`courtpay-refund-${id}`]);
      expect(standIn.created.size, 'exactly one processor refund').to.equal(1);
      const made = [...standIn.created.values()][0];

      const shown = await call(second.base, approver, 'GET', `/v1/refunds/${id}`);
      expect(shown.body).to.include({ status: 'succeeded', processorRefundId: made.id, amount: 38366 });
      expect(shown.body.history.map((h: { action: string }) => h.action)).to.deep.equal(['refund.requested', 'refund.approved', 'refund.submitting', 'refund.succeeded']);
      expect(await ledgerKinds(p.id)).to.deep.equal(['payment_settled', 'refund_settled']);
      expect(await knex('invoices').where({ id: p.invoice_id }).first()).to.include({ refunded_amount: 38366 });
      expect((await knex('payments').where({ id: p.id }).first()).refunded_amount).to.equal(38366);
      await stopChild(second.child, 'SIGTERM');
      children.delete(second.child);
    });
  });
});

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

interface StripeStandIn {
  url: string;
  /** Every refund create it received, with its idempotency key. */
  requests: { key: string; body: Record<string, string> }[];
  /** Refunds it made, by idempotency key: what Stripe does with a key it has seen is answer the same refund. */
  created: Map<string, Stripe.Refund>;
  firstRefundArrived: Promise<void>;
  close(): Promise<void>;
}

/**
 * Stripe's refunds endpoint as it behaves for us: a refund is made when its request arrives, and a
 * repeat of the idempotency key answers the same refund. The first request is made and then held
 * open forever, as a processor that has done the work but whose answer never gets back.
 */
async function stripeStandIn(): Promise<StripeStandIn> {
  const requests: StripeStandIn['requests'] = [];
  const created = new Map<string, Stripe.Refund>();
  let arrived!: () => void;
  const firstRefundArrived = new Promise<void>((resolve) => { arrived = resolve; });
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      if (req.method === 'GET' && url.pathname === '/v1/refunds') {
        const pi = url.searchParams.get('payment_intent');
        const data = [...created.values()].filter((r) => r.payment_intent === pi);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', url: '/v1/refunds', has_more: false, data }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/refunds') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.url})` } }));
        return;
      }
      const body = Object.fromEntries(new URLSearchParams(raw));
      const key = String(req.headers['idempotency-key']);
      requests.push({ key, body });
      const replay = created.has(key);
      if (!replay) {
        created.set(key, aRefund({ amount: Number(body.amount), currency: 'cny', status: 'succeeded', payment_intent: body.payment_intent ?? null, metadata: { refund_id: body['metadata[refund_id]'] } }));
      }
      if (requests.length === 1) {
        arrived();
        return; // made, never answered
      }
      res.writeHead(200, { 'content-type': 'application/json', 'idempotent-replayed': String(replay) }).end(JSON.stringify(created.get(key)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    created,
    firstRefundArrived,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
