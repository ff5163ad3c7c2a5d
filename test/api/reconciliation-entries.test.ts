import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import nock from 'nock';
import { reconciliationJobs } from '../../src/reconciliation/jobs';
import type { CourtDay } from '../../src/reconciliation/court-day';
import { api, auth } from '../support/builders';
import { keyFor, TEST_STRIPE, testEnv } from '../support/env';
import { COURT, dayOf, lineFor, settledOn, type Line, type Paid } from '../support/reconciliation-fixtures';

/**
 * A missed webhook healed by the reconciliation from each of its entry points — the API, the nightly
 * job and the operator's command (a real process) — in a court with a subscribed callback endpoint:
 * each settles the payment through the webhook's code and queues the endpoint's invoice.paid.
 */
const HOUR = 3600_000;
const nightAfter = (day: CourtDay) => new Date(day.end.getTime() + 2 * HOUR);

/** Stripe's lists for every run of the day (each court's and the account's): the lines, no payouts. */
function stubDay(lines: Line[]) {
  const stripe = nock('https://api.stripe.com').persist();
  stripe.get('/v1/balance_transactions').query((q) => !q.payout).reply(200, { object: 'list', url: '/v1/balance_transactions', has_more: false, data: lines });
  stripe.get('/v1/payouts').query(true).reply(200, { object: 'list', url: '/v1/payouts', has_more: false, data: [] });
}

/** A stand-in for Stripe on loopback, for a process nock cannot reach: the same two lists. */
async function stripeStandIn(lines: Line[]): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const list = (data: unknown[]) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', url: url.pathname, has_more: false, data }));
    if (req.headers.authorization !== `Bearer ${TEST_STRIPE.secretKey}`) return void res.writeHead(401).end();
    if (url.pathname === '/v1/balance_transactions' && !url.searchParams.get('payout')) return list(lines);
    if (url.pathname === '/v1/payouts') return list([]);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'invalid_request_error', message: `no ${url.pathname}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('reconciliation heals the same from every entry point', () => {
  let caseKey: string;
  let admin: string;
  let endpoint: string;
  before(async () => {
    caseKey = await keyFor('case_system', 'all');
    admin = await keyFor('admin', 'all');
    const res = await api().post('/v1/callback-endpoints').set(auth(admin))
      .send({ url: 'http://127.0.0.1:9/courtpay-callbacks', courtCodes: [COURT], eventTypes: ['invoice.paid'] });
    expect(res.status, res.text).to.equal(201);
    endpoint = res.body.id;
  });
  after(async () => {
    await testEnv().knex('callback_endpoints').where({ public_id: endpoint }).update({ enabled: false });
  });
  afterEach(() => nock.cleanAll());

  /** A payment whose webhook never came, and the processor's line for it in the day. */
  async function missedWebhook(day: CourtDay): Promise<{ pending: Paid; line: Line }> {
    const pending = await settledOn(caseKey, day, { settle: false });
    return { pending, line: lineFor(day, { ...pending, charge_id: `ch_missed${pending.id}` }) };
  }

  async function expectHealedWithCallback(pending: Paid) {
    const { knex } = testEnv();
    expect(await knex('payments').where({ id: pending.id }).first()).to.include({ status: 'succeeded', settled_amount: pending.amount });
    const [ep] = await knex('callback_endpoints').where({ public_id: endpoint });
    const queued = await knex('callback_messages').where({ invoice_id: pending.invoice_id, endpoint_id: ep.id });
    expect(queued.map((m) => m.type)).to.deep.equal(['invoice.paid']);
    expect(JSON.parse(queued[0].payload)).to.deep.include({ type: 'invoice.paid' });
  }

  it('when finance runs the day through the API, then the missed payment is healed and its invoice.paid queued', async () => {
    const day = dayOf('2024-08-01');
    const { pending, line } = await missedWebhook(day);
    stubDay([line]);
    const finance = await keyFor('finance', [COURT]);
    const res = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: day.date, courtCode: COURT });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.data[0]).to.deep.include({ status: 'completed', counts: { missing_in_ledger: { total: 1, open: 0, healed: 1, resolved: 0 } } });
    await expectHealedWithCallback(pending);
  });

  it('when the nightly job runs at 02:00, then it reconciles the day just ended, heals the payment, queues invoice.paid and runs the account-level day', async () => {
    const day = dayOf('2024-08-02');
    const { pending, line } = await missedWebhook(day);
    stubDay([line]);
    const { knex, config, processor } = testEnv();
    const jobs = reconciliationJobs(knex, config, processor, () => nightAfter(day));
    expect(jobs).to.have.length(1);
    await jobs[0].run({});
    await expectHealedWithCallback(pending);
    const runs = await knex('reconciliation_runs').where({ business_date: day.date }).orderBy('id');
    expect(runs.find((r) => r.court_code === COURT)).to.include({ status: 'completed', started_by: 'job:reconciliation' });
    expect(runs.find((r) => r.scope === 'account')).to.include({ status: 'completed', court_code: null });
  });

  it('when the operator runs the command for the court, then the process heals the payment and queues invoice.paid', async function () {
    if (testEnv().embedded) this.skip(); // the command is another process: it needs the Postgres server, not this process's in-memory database
    this.timeout(60_000);
    const day = dayOf('2024-08-03');
    const { pending, line } = await missedWebhook(day);
    const standIn = await stripeStandIn([line]);
    try {
      const root = path.resolve(__dirname, '../..');
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/reconcile.ts', '--date', day.date, '--court', COURT], {
        cwd: root,
        env: {
          PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: testEnv().config.db.url!, STRIPE_SECRET_KEY: TEST_STRIPE.secretKey,
          STRIPE_WEBHOOK_SECRET: TEST_STRIPE.webhookSecret, STRIPE_API_BASE: standIn.base, PUBLIC_BASE_URL: 'https://pay.courts.example',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, out).to.equal(0);
      expect(out).to.match(new RegExp(`${COURT} ${day.date}: completed .* discrepancies: missing_in_ledger=1`));
    } finally {
      await standIn.close();
    }
    await expectHealedWithCallback(pending);
  });
});
