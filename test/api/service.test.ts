import { expect } from 'chai';
import express from 'express';
import knexFactory from 'knex';
import winston from 'winston';
import { ApiKeyAuthenticator } from '../../src/auth/api-key-store';
import { databaseMessage } from '../../src/db';
import { apiRoutes, buildApp } from '../../src/http/app';
import { problemHandler } from '../../src/http/problem';
import { logger } from '../../src/shared/logger';
import request from 'supertest';
import { aCase, anInvoice, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

describe('service endpoints', () => {
  it('when /healthz and /readyz are called, then both answer 200', async () => {
    expect((await api().get('/healthz')).body).to.deep.equal({ status: 'ok' });
    expect((await api().get('/readyz')).body).to.deep.equal({ status: 'ready' });
  });

  it('when the database is unreachable, then /readyz answers 503 problem and /healthz still 200', async () => {
    const quiet = () => undefined;
    const dead = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: { min: 0, max: 1, acquireTimeoutMillis: 2000 }, log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet } });
    const app = buildApp({ knex: dead, config: testEnv().config, authenticator: new ApiKeyAuthenticator(dead, { ...testEnv().config.auth, keyCacheTtlMs: 1000 }), processor: testEnv().processor });
    logger.silent = true;
    try {
      const res = await request(app).get('/readyz');
      expect(res.status).to.equal(503);
      expect(res.body.code).to.equal('database_unavailable');
      expect((await request(app).get('/healthz')).status).to.equal(200);
    } finally {
      logger.silent = false;
      await dead.destroy();
    }
  });

  it('when requests were served, then /metrics has durations labelled by route template, never the raw path', async () => {
    const cs = await keyFor('case_system');
    const number = await aCase(cs);
    await api().get(`/v1/cases/${encodeURIComponent(number)}/fees`).set(auth(cs)).expect(200);
    const text = (await api().get('/metrics')).text;
    expect(text).to.match(/http_request_duration_seconds_count\{method="GET",route="\/v1\/cases\/\{caseNumber\}\/fees",status="200"\} \d+/);
    expect(text).not.to.include('晋0105');
  });

  it('when /openapi.json is read, then every mounted route is described with its method, and nothing else', async () => {
    const spec = (await api().get('/openapi.json')).body;
    const described = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const mounted: string[] = [];
    const app = testEnv().app.express as unknown as { router: { stack: { handle?: { stack?: { route?: { path: string; methods: Record<string, boolean> } }[] } }[] } };
    for (const layer of app.router.stack) {
      for (const sub of layer.handle?.stack ?? []) {
        if (!sub.route) continue;
        for (const m of Object.keys(sub.route.methods)) mounted.push(`${m.toUpperCase()} ${sub.route.path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
    expect(mounted.length).to.be.greaterThan(apiRoutes(testEnv().processor).length);
    expect(described.sort()).to.deep.equal(mounted.sort());
    const issue = spec.paths['/v1/cases/{caseNumber}/invoices'].post;
    expect(issue.requestBody.content['application/json'].schema.required).to.include.members(['feeKind', 'payer']);
    expect(issue.parameters.map((p: { name: string }) => p.name)).to.include.members(['caseNumber', 'Idempotency-Key']);
  });

  it('when /docs is opened, then a page lists the endpoints', async () => {
    const res = await api().get('/docs');
    expect(res.headers['content-type']).to.match(/text\/html/);
    expect(res.text).to.include('/v1/cases/{caseNumber}/invoices');
  });

  it('when a request comes in, then it gets a request id (its own if sane), helmet headers and no x-powered-by', async () => {
    const own = await api().get('/healthz').set('x-request-id', 'abc-123');
    expect(own.headers['x-request-id']).to.equal('abc-123');
    const made = await api().get('/healthz').set('x-request-id', 'bad id with spaces');
    expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(made.headers['x-content-type-options']).to.equal('nosniff');
    expect(made.headers).not.to.have.property('x-powered-by');
  });

  it('when requests are logged, then each line is JSON with the request id, and no key or payment token appears', async () => {
    const lines: string[] = [];
    const capture = new winston.transports.Stream({ stream: new (require('node:stream').Writable)({ write(c: Buffer, _e: string, cb: () => void) { lines.push(c.toString()); cb(); } }) });
    const level = logger.level;
    logger.level = 'info';
    logger.add(capture);
    try {
      const cs = await keyFor('case_system');
      const inv = await anInvoice(cs, await aCase(cs));
      const token = inv.paymentUrl.split('/').pop()!;
      await api().get(`/v1/invoices/${inv.id}`).set(auth(cs)).set('x-request-id', 'log-check-1');
      const parsed = lines.map((l) => JSON.parse(l));
      const mine = parsed.find((l) => l.requestId === 'log-check-1');
      expect(mine).to.include({ message: 'request', route: '/v1/invoices/{invoiceId}', status: 200 });
      expect(lines.join('\n')).not.to.include(cs).and.not.to.include(token);
    } finally {
      logger.remove(capture);
      logger.level = level;
    }
  });

  it('when a query fails, then its error names the statement and the database’s message, never the values bound to it', async () => {
    const token = 'tok_secret_value_never_logged';
    const err = await testEnv().knex.raw('select 1 / 0 where ?::text is not null', [token]).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.code).to.equal('22012');
    expect(err!.message).to.include('select 1 / 0').and.to.include('division by zero').and.not.to.include(token);
    expect(databaseMessage(err!)).to.equal('division by zero');
  });

  it('when a handler throws an unexpected error, then 500 problem reveals nothing internal', async () => {
    const app = express();
    app.get('/boom', () => {
      throw new Error('secret internals: password=hunter2');
    });
    app.use(problemHandler);
    logger.silent = true;
    let res;
    try {
      res = await request(app).get('/boom');
    } finally {
      logger.silent = false;
    }
    expect(res.status).to.equal(500);
    expect(res.body.code).to.equal('internal_error');
    expect(res.text).not.to.include('hunter2');
  });
});
