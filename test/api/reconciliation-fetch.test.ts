import { Readable } from 'node:stream';
import { expect } from 'chai';
import nock from 'nock';
import type { Config } from '../../src/config';
import { testEnv, keyFor, TEST_STRIPE } from '../support/env';
import { configWith, dayOf, itemsOf, lineFor, reconcile, settledOn, stubProcessorDay } from '../support/reconciliation-fixtures';

/**
 * What reconciliation fetches besides the Stripe API: the report file (sent the API key, so only
 * to Stripe's file host) and the court's case records (no redirects, a bounded answer).
 */
const kinds = async (runId: number) => (await itemsOf(runId)).map((i) => i.kind);

/** A report run that succeeds at once with its file at `url` (the lines are staged before the payouts are asked for). */
function stubReportRun(url: string) {
  const stripe = nock('https://api.stripe.com');
  stripe.post('/v1/reporting/report_runs').reply(200, { id: 'frr_fetch', object: 'reporting.report_run', status: 'succeeded', result: { id: 'file_fetch', object: 'file', url } });
  return stripe;
}

const CSV_HEADER = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,charge_id,payment_intent_id,payment_metadata[payment_id],payment_metadata[court_code],refund_metadata[refund_id],refund_metadata[court_code]\n';

describe('reconciliation: what it fetches, and from where', () => {
  let caseKey: string;
  before(async () => {
    caseKey = await keyFor('case_system', 'all');
  });
  afterEach(() => nock.cleanAll());

  it('when a report run names a file anywhere but Stripe\'s file host, then the run fails saying so and the API key is sent nowhere', async () => {
    const day = dayOf('2024-06-11');
    const elsewhere = [
      'https://attacker.example/v1/files/file_fetch/contents',
      'https://files.stripe.com.attacker.example/v1/files/file_fetch/contents',
      'http://files.stripe.com/v1/files/file_fetch/contents', // not https
      'https://files.stripe.com:8443/v1/files/file_fetch/contents',
      'https://api.stripe.com/v1/files/file_fetch/contents',
    ];
    for (const url of elsewhere) {
      const u = new URL(url);
      // Whatever asks at the named place, with the key or without, is an interceptor that must stay uncalled.
      const foreign = nock(u.origin).get(u.pathname).reply(200, CSV_HEADER);
      const stripe = stubReportRun(url);
      const r = await reconcile(day.date, { config: configWith({ source: 'report' }) });
      expect(r.outcome, url).to.equal('failed');
      if (r.outcome !== 'failed') return;
      expect(r.run.failure_reason, url).to.contain(`not on Stripe's file host https://files.stripe.com (it names ${u.host})`);
      expect(foreign.isDone(), `${url} was asked`).to.equal(false);
      expect(stripe.pendingMocks(), url).to.deep.equal([]);
      expect(await itemsOf(r.run.id)).to.deep.equal([]);
      nock.cleanAll();
    }
  });

  it('when Stripe\'s file host answers the report file with a redirect, then it is not followed and the run fails', async () => {
    const day = dayOf('2024-06-12');
    stubReportRun('https://files.stripe.com/v1/files/file_fetch/contents');
    nock('https://files.stripe.com', { reqheaders: { authorization: `Bearer ${TEST_STRIPE.secretKey}` } })
      .get('/v1/files/file_fetch/contents').reply(302, '', { location: 'https://attacker.example/loot' });
    const loot = nock('https://attacker.example').get('/loot').reply(200, CSV_HEADER);
    const r = await reconcile(day.date, { config: configWith({ source: 'report' }) });
    expect(r.outcome).to.equal('failed');
    if (r.outcome !== 'failed') return;
    expect(r.run.failure_reason).to.contain('report file file_fetch download answered a redirect (HTTP 302), not followed');
    expect(loot.isDone()).to.equal(false);
  });

  it('when the case records endpoint redirects, then the redirect is not followed and the check is skipped, saying why', async () => {
    const day = dayOf('2024-06-13');
    const p = await settledOn(caseKey, day);
    const config = configWith({ caseRecordsUrl: 'https://cases.example/fee-records' });
    nock('https://cases.example').get('/fee-records').query(true).reply(307, '', { location: 'http://169.254.169.254/latest/meta-data' });
    // Were it followed, this answer would make a case_record_mismatch.
    const target = nock('http://169.254.169.254').get('/latest/meta-data').reply(200, { data: [{ caseNumber: p.caseNumber, invoiceId: p.invoicePublicId, status: 'unpaid', paidAmount: 0 }] });
    stubProcessorDay([lineFor(day, p)]);
    const r = await reconcile(day.date, { config });
    if (r.outcome !== 'completed') throw new Error(r.outcome);
    expect((r.run.checks as any).caseRecords).to.deep.equal({ status: 'skipped', reason: 'case records endpoint answered a redirect (HTTP 307), not followed' });
    expect(target.isDone()).to.equal(false);
    expect(await kinds(r.run.id)).to.deep.equal([]);
  });

  it('when the case records answer is larger than caseRecordsMaxBytes, declared or not, then it is not read, the check is skipped saying so, and nothing is found from it', async () => {
    const day = dayOf('2024-06-14');
    const p = await settledOn(caseKey, day);
    const base = configWith({ caseRecordsUrl: 'https://cases.example/fee-records' });
    const config = { ...base, reconciliation: { ...base.reconciliation, caseRecordsMaxBytes: 4096 } } as Config;
    const mismatch = { caseNumber: p.caseNumber, invoiceId: p.invoicePublicId, status: 'unpaid', paidAmount: 0 };
    const big = JSON.stringify({ data: [{ ...mismatch, note: 'x'.repeat(5000) }] });
    const reason = 'case records endpoint answered more than 4096 bytes (reconciliation.caseRecordsMaxBytes), not read';

    nock('https://cases.example').get('/fee-records').query(true).reply(200, big, { 'content-type': 'application/json', 'content-length': String(big.length) });
    stubProcessorDay([lineFor(day, p)]);
    const declared = await reconcile(day.date, { config });
    if (declared.outcome !== 'completed') throw new Error(declared.outcome);
    expect((declared.run.checks as any).caseRecords).to.deep.equal({ status: 'skipped', reason });
    expect(await kinds(declared.run.id)).to.deep.equal([]);

    // Sent in chunks with no length given: reading stops past the limit.
    nock('https://cases.example').get('/fee-records').query(true).reply(200, () => Readable.from([big.slice(0, 3000), big.slice(3000)]), { 'content-type': 'application/json' });
    stubProcessorDay([lineFor(day, p)]);
    const streamed = await reconcile(day.date, { config });
    if (streamed.outcome !== 'completed') throw new Error(streamed.outcome);
    expect((streamed.run.checks as any).caseRecords).to.deep.equal({ status: 'skipped', reason });
    expect(await kinds(streamed.run.id)).to.deep.equal([]);

    // The same records within the limit are read and checked: the limit, not the records, skipped them above.
    nock('https://cases.example').get('/fee-records').query(true).reply(200, { data: [mismatch] });
    stubProcessorDay([lineFor(day, p)]);
    const small = await reconcile(day.date, { config });
    if (small.outcome !== 'completed') throw new Error(small.outcome);
    expect((small.run.checks as any).caseRecords).to.deep.equal({ status: 'checked', records: 1 });
    expect(await kinds(small.run.id)).to.deep.equal(['case_record_mismatch']);
    expect(testEnv().config.reconciliation.caseRecordsMaxBytes).to.equal(5 * 1024 * 1024);
  });
});
