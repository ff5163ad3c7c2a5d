import { expect } from 'chai';
import request from 'supertest';
import { ApiKeyAuthenticator } from '../../src/auth/api-key-store';
import { buildApp, type App } from '../../src/http/app';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { aCase, anInvoice, api } from '../support/builders';
import { keyFor, testConfig, testEnv } from '../support/env';

function appWith(overrides: Record<string, unknown>, sandbox?: Sandbox): App {
  const { knex, processor } = testEnv();
  const config = testConfig({ ...overrides, db: testEnv().config.db });
  return buildApp({ knex, config, authenticator: new ApiKeyAuthenticator(knex, config.auth), processor, sandboxPages: sandbox?.pages });
}

describe('the landing page, the icon and the security headers', () => {
  it('when / is opened in a browser, then a page says what this is and links the API docs and the console, and no sandbox that is not running', async () => {
    const res = await api().get('/').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/html/);
    expect(res.headers.vary).to.match(/Accept/i);
    expect(res.text).to.include('courtpay').and.include('href="/docs"').and.include('href="/console"').and.not.include('href="/sandbox"');
    const en = await api().get('/?lang=en');
    expect(en.text).to.include('<html lang="en"').and.include('API reference');
  });

  it('when / is asked for JSON, then a small index lists the links', async () => {
    const res = await api().get('/').set('Accept', 'application/json');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.body.service).to.equal('courtpay');
    expect(res.body.links.map((l: { rel: string }) => l.rel)).to.include.members(['docs', 'openapi', 'console']).and.not.include('sandbox');
  });

  it('when the sandbox processor runs, then / links it, and /sandbox lists its open checkouts', async () => {
    const sandbox = await startSandbox({ knex: testEnv().knex, env: 'test', publicBaseUrl: 'http://localhost:3000', webhookUrl: () => 'http://127.0.0.1:9/webhooks/stripe', webhookSecret: 'whsec_landing', expirySweepMs: 0 });
    try {
      const app = appWith({}, sandbox);
      expect((await request(app).get('/')).text).to.include('href="/sandbox"');
      expect((await request(app).get('/').set('Accept', 'application/json')).body.links).to.deep.include({ rel: 'sandbox', href: '/sandbox' });
      const list = await request(app).get('/sandbox');
      expect(list.status).to.equal(200);
      expect(list.text).to.include('Open checkouts');
    } finally {
      await sandbox.stop();
    }
  });

  it('when /favicon.ico is asked for, then our own SVG icon answers, and the litigant pages link it inline', async () => {
    const icon = await api().get('/favicon.ico').buffer(true).parse((res, done) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => done(null, data));
    });
    expect(icon.status).to.equal(200);
    expect(icon.headers['content-type']).to.match(/^image\/svg\+xml/);
    expect(String(icon.body)).to.match(/^<svg /);
    const cs = await keyFor('case_system');
    const inv = await anInvoice(cs, await aCase(cs));
    const notice = await api().get(new URL(inv.paymentUrl).pathname);
    expect(notice.status).to.equal(200);
    expect(notice.text).to.match(/<link rel="icon" href="data:image\/svg\+xml,/);
  });

  it('when the service is reached over https (PUBLIC_BASE_URL), then HSTS and upgrade-insecure-requests are sent', async () => {
    expect(testEnv().config.publicBaseUrl).to.match(/^https:/);
    const res = await api().get('/healthz');
    expect(res.headers['strict-transport-security']).to.match(/max-age=\d+/);
    expect(res.headers['content-security-policy']).to.include('upgrade-insecure-requests');
  });

  it('when the service is plain HTTP (development on localhost), then neither HSTS nor upgrade-insecure-requests is sent, on pages or the webhook', async () => {
    const app = appWith({ env: 'development', publicBaseUrl: 'http://localhost:3000' });
    for (const res of [await request(app).get('/'), await request(app).get('/healthz'), await request(app).post('/webhooks/stripe').set('content-type', 'application/json').send('{}')]) {
      expect(res.headers).not.to.have.property('strict-transport-security');
      expect(res.headers['content-security-policy']).to.be.a('string').and.not.include('upgrade-insecure-requests');
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
    }
  });
});
