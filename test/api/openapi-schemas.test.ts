import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'chai';
import nock from 'nock';
import { aCase, anInvoice, aPayment, api, auth, enc } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { COURT, dayOf, lineFor, settledOn, stubProcessorDay } from '../support/reconciliation-fixtures';
import { aRefund, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

type Spec = { servers: { url: string }[]; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

describe('the OpenAPI document describes what the API answers', () => {
  let spec: Spec;
  let ajv: Ajv;
  before(async () => {
    spec = (await api().get('/openapi.json')).body;
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(spec as object, 'openapi.json');
  });
  afterEach(expectStripeStubsUsed);

  /** The validator of one operation's answer, taken from the served document. */
  function schemaOf(method: string, path: string, status: number, type = 'application/json'): ValidateFunction {
    const content = spec.paths[path]?.[method]?.responses[status]?.content?.[type];
    expect(content?.schema, `${method} ${path} ${status} has a schema`).to.be.an('object');
    return ajv.compile({ $ref: `openapi.json#/${pointer('paths', path, method, 'responses', String(status), 'content', type, 'schema')}` });
  }
  function expectValid(method: string, path: string, res: { status: number; body: unknown; text: string }) {
    const validate = schemaOf(method, path, res.status);
    const ok = validate(res.body);
    expect(ok, `${method.toUpperCase()} ${path} ${res.status}: ${JSON.stringify(validate.errors, null, 1)}\n${res.text.slice(0, 2000)}`).to.equal(true);
  }

  it('when the document is read, then every operation declares the schema of each answer: JSON successes their body, errors the shared Problem, pages text', () => {
    const missing: string[] = [];
    let operations = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        for (const [status, r] of Object.entries(op.responses)) {
          const code = Number(status);
          if (code >= 300 && code < 400 && !r.content) continue; // a redirect: no body
          const contents = Object.entries(r.content ?? {});
          if (!contents.length || contents.some(([, c]) => !c.schema)) missing.push(`${method.toUpperCase()} ${path} ${status}`);
          if (r.content?.['application/problem+json']) expect(r.content['application/problem+json'].schema).to.deep.equal({ $ref: '#/components/schemas/Problem' });
        }
        // Every schema compiles and every $ref in it resolves (ajv throws on one that does not).
        for (const [status, r] of Object.entries(op.responses)) {
          for (const type of Object.keys(r.content ?? {})) schemaOf(method, path, Number(status), type);
        }
      }
    }
    expect(operations).to.be.greaterThan(40);
    expect(missing).to.deep.equal([]);
  });

  it('when the document is read, then its server is the configured public base URL', () => {
    expect(spec.servers).to.deep.equal([{ url: testEnv().config.publicBaseUrl }]);
  });

  it('when an invoice is issued, paid, refunded and listed through the API, then each answer validates against its schema in /openapi.json', async () => {
    const cs = await keyFor('case_system');
    const clerk = await keyFor('clerk');
    const approver = await keyFor('approver');
    const finance = await keyFor('finance');
    const caseNumber = await aCase(cs);
    const issued = await api().post(`/v1/cases/${enc(caseNumber)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_property', claimAmount: 5_000_000, payer: { name: 'Li <Lei>', role: 'plaintiff', email: 'li@example.test' } });
    expect(issued.status, issued.text).to.equal(201);
    expectValid('post', '/v1/cases/{caseNumber}/invoices', issued);

    const payment = await aPayment(issued.body.id);
    expectValid('get', '/v1/payments/{paymentId}', await api().get(`/v1/payments/${payment.public_id}`).set(auth(finance)).expect(200));

    const requested = await api().post(`/v1/payments/${payment.public_id}/refunds`).set(auth(clerk)).send({ amount: 10000, reasonCode: 'overpayment' });
    expect(requested.status, requested.text).to.equal(201);
    expectValid('post', '/v1/payments/{paymentId}/refunds', requested);
    stripeApi()
      .post('/v1/refunds')
      .reply((_uri, body) => {
        const b = formBody(body);
        return [200, aRefund({ amount: Number(b.amount), status: 'succeeded', metadata: { refund_id: b['metadata[refund_id]'] } })];
      });
    const approved = await api().post(`/v1/refunds/${requested.body.id}/approve`).set(auth(approver)).send({ note: 'checked' });
    expect(approved.status, approved.text).to.equal(200);
    expectValid('post', '/v1/refunds/{refundId}/approve', approved);
    expectValid('get', '/v1/refunds/{refundId}', await api().get(`/v1/refunds/${requested.body.id}`).set(auth(finance)).expect(200));

    const detail = await api().get(`/v1/invoices/${issued.body.id}`).set(auth(finance)).expect(200);
    expect(detail.body.payments).to.have.length(1);
    expect(detail.body.refunds).to.have.length(1);
    expectValid('get', '/v1/invoices/{invoiceId}', detail);
    const fees = await api().get(`/v1/cases/${enc(caseNumber)}/fees`).set(auth(finance)).expect(200);
    expect(fees.body.invoices[0].payments).to.have.length(1);
    expectValid('get', '/v1/cases/{caseNumber}/fees', fees);

    const invoices = await api().get('/v1/invoices').query({ caseNumber }).set(auth(finance)).expect(200);
    expect(invoices.body.data).to.have.length(1);
    expectValid('get', '/v1/invoices', invoices);
    const refunds = await api().get('/v1/refunds').query({ paymentId: payment.public_id }).set(auth(finance)).expect(200);
    expect(refunds.body.data).to.have.length(1);
    expectValid('get', '/v1/refunds', refunds);
    expectValid('get', '/v1/me', await api().get('/v1/me').set(auth(finance)).expect(200));
    expectValid('get', '/v1/courts', await api().get('/v1/courts').set(auth(finance)).expect(200));
    expectValid('get', '/', await api().get('/').set('accept', 'application/json').expect(200));
    expectValid('get', '/v1/refund-reasons', await api().get('/v1/refund-reasons').set(auth(finance)).expect(200));

    // The schemas are closed: a field a presenter gains without the document fails, as does one it loses.
    const invoiceSchema = schemaOf('get', '/v1/invoices/{invoiceId}', 200);
    expect(invoiceSchema({ ...detail.body, newField: 1 })).to.equal(false);
    const { paymentUrl: _dropped, ...withoutLink } = detail.body;
    expect(invoiceSchema(withoutLink)).to.equal(false);
    expect(nock.isDone()).to.equal(true);
  });

  it('when a case, a quote, a remission, a reconciliation run and its lines, a callback endpoint, a member of staff and the audit trail are answered, then each validates against its schema', async () => {
    const cs = await keyFor('case_system');
    const finance = await keyFor('finance');
    const admin = await keyFor('admin');
    const caseNumber = `(2026)晋0105民初${Date.now() % 100000}号`;
    const registered = await api().put(`/v1/cases/${enc(caseNumber)}`).set(auth(cs)).send({ courtCode: '1411', caseType: 'civil', title: 'A v B', parties: [{ name: 'A', role: 'plaintiff' }] });
    expect(registered.status, registered.text).to.equal(201);
    expectValid('put', '/v1/cases/{caseNumber}', registered);
    expectValid('post', '/v1/fees/quote', await api().post('/v1/fees/quote').set(auth(cs)).send({ courtCode: '1411', feeKind: 'acceptance_property', claimAmount: 12_345_600 }).expect(200));
    const invoice = await anInvoice(cs, caseNumber);
    const remitted = await api().post(`/v1/invoices/${invoice.id}/remissions`).set(auth(cs)).send({ kind: 'reduction', decisionRef: '(2026)晋0105司救1号', decidedBy: '审判员 张三', decidedAt: '2026-01-05', reductionPercent: 50 });
    expect(remitted.status, remitted.text).to.equal(200);
    expectValid('post', '/v1/invoices/{invoiceId}/remissions', remitted);

    const day = dayOf('2024-11-19');
    const p = await settledOn(cs, day);
    stubProcessorDay([lineFor(day, p, { amount: p.amount + 50 })]);
    const ran = await api().post('/v1/reconciliations').set(auth(finance)).send({ date: day.date, courtCode: COURT });
    expect(ran.status, ran.text).to.equal(201);
    expectValid('post', '/v1/reconciliations', ran);
    const run = ran.body.data[0];
    expectValid('get', '/v1/reconciliations', await api().get('/v1/reconciliations').query({ date: day.date, courtCode: COURT }).set(auth(finance)).expect(200));
    expectValid('get', '/v1/reconciliations/{runId}', await api().get(`/v1/reconciliations/${run.id}`).set(auth(finance)).expect(200));
    const items = await api().get(`/v1/reconciliations/${run.id}/items`).set(auth(finance)).expect(200);
    expect(items.body.data).to.have.length(1);
    expectValid('get', '/v1/reconciliations/{runId}/items', items);
    const resolved = await api().post(`/v1/reconciliation-items/${items.body.data[0].id}/resolve`).set(auth(finance)).send({ note: 'bank fee' });
    expect(resolved.status, resolved.text).to.equal(200);
    expectValid('post', '/v1/reconciliation-items/{itemId}/resolve', resolved);

    const endpoint = await api().post('/v1/callback-endpoints').set(auth(admin)).send({ url: 'http://127.0.0.1:9/cb', courtCodes: ['1411'], eventTypes: ['invoice.issued'] });
    expect(endpoint.status, endpoint.text).to.equal(201);
    await anInvoice(cs, caseNumber);
    const messages = await api().get('/v1/callback-messages').query({ endpointId: endpoint.body.id }).set(auth(admin)).expect(200);
    expect(messages.body.data).to.have.length(1);
    expectValid('get', '/v1/callback-messages', messages);
    expectValid('get', '/v1/callback-messages/{messageId}', await api().get(`/v1/callback-messages/${messages.body.data[0].id}`).set(auth(admin)).expect(200));
    expectValid('post', '/v1/callback-endpoints', endpoint);
    expectValid('get', '/v1/callback-endpoints/{endpointId}', await api().get(`/v1/callback-endpoints/${endpoint.body.id}`).set(auth(admin)).expect(200));
    expectValid('get', '/v1/callback-endpoints', await api().get('/v1/callback-endpoints').set(auth(admin)).expect(200));
    expectValid('post', '/v1/callback-endpoints/{endpointId}/rotate-secret', await api().post(`/v1/callback-endpoints/${endpoint.body.id}/rotate-secret`).set(auth(admin)).expect(200));

    const login = `docs${Date.now() % 1_000_000}`;
    const staff = await api().post('/v1/staff').set(auth(admin)).send({ login, name: '王芳', roles: ['clerk'], courts: ['1411'] });
    expect(staff.status, staff.text).to.equal(201);
    expectValid('post', '/v1/staff', staff);
    expectValid('get', '/v1/staff', await api().get('/v1/staff').set(auth(admin)).expect(200));
    const audit = await api().get('/v1/audit-events').query({ entity: `invoice:${invoice.id}` }).set(auth(finance)).expect(200);
    expect(audit.body.data.length).to.be.greaterThan(0);
    expectValid('get', '/v1/audit-events', audit);
  });

  it('when a request is refused, then the problem it answers validates against the shared Problem schema', async () => {
    const finance = await keyFor('finance');
    const res = await api().get('/v1/invoices/inv_doesnotexist').set(auth(finance));
    expect(res.status).to.equal(404);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    const validate = ajv.compile({ $ref: `openapi.json#/${pointer('paths', '/v1/invoices/{invoiceId}', 'get', 'responses', '404', 'content', 'application/problem+json', 'schema')}` });
    expect(validate(res.body), JSON.stringify(validate.errors)).to.equal(true);
  });

  it('when /docs is opened, then it is a reference built from the document: every operation by tag with who may call it, parameters, fields and errors, no script and nothing from elsewhere', async () => {
    const res = await api().get('/docs').expect(200);
    expect(res.headers['content-type']).to.match(/text\/html/);
    const html = res.text;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const method of Object.keys(ops)) expect(html, `${method} ${path}`).to.include(`<span class="method">${method.toUpperCase()}</span> <code>${path}</code>`);
    }
    expect(html).to.include('id="tag-refunds"').and.include('id="schema-Invoice"').and.include('id="schema-Problem"');
    const refund = html.slice(html.indexOf('<code>/v1/payments/{paymentId}/refunds</code>'));
    const section = refund.slice(0, refund.indexOf('</section>'));
    expect(section).to.include('roles: <code>clerk</code>').and.include('<code>reasonCode</code>').and.include('<code>412</code>').and.include('href="#schema-RefundRequested"');
    expect(html).to.include(`<code>${testEnv().config.publicBaseUrl}</code>`);
    expect(html).not.to.match(/<script|<link|<img|<iframe|src=/i);
    expect(html.match(/(?:href|action)="([^"#/][^"]*)"/g) ?? []).to.deep.equal([]);
    // Text from the document is escaped: the refund reason summary's arrow stays text, no stray tags.
    expect(html).not.to.include('<api key>');
    expect(html).to.include('&lt;api key&gt;');
  });
});
