import { expect } from 'chai';
import nock from 'nock';
import { createApiKey, revokeApiKey } from '../../src/auth/api-key-store';
import { pgBossRunner } from '../../src/jobs/pg-boss-runner';
import type { JobRunner } from '../../src/jobs/runner';
import { startService, type RunningService } from '../../src/service';
import { testConfig, testEnv } from '../support/env';
import { aJobQueueSchema, captureLogs, NEVER, rnd, waitFor } from '../support/job-fixtures';
import { COURT } from '../support/reconciliation-fixtures';
import { disableStaffCommand } from '../../src/staff/commands';
import { aPerson, csrfOf, sessionCookieOf } from '../support/staff';

/**
 * Two instances of the service on one database, as in production behind a load balancer: each its
 * own pool, key cache, revocation listener and job runner. Postgres only: the embedded database is
 * one process's, so there is never a second instance on it.
 */
describe('two instances on one database', () => {
  before(function () {
    if (testEnv().embedded) this.skip(); // PGlite is single-process: a second instance cannot open it
  });

  describe('jobs', () => {
    let queues: Awaited<ReturnType<typeof aJobQueueSchema>>;
    const runners: JobRunner[] = [];
    beforeEach(async () => (queues = await aJobQueueSchema()));
    afterEach(async function () {
      this.timeout(30_000);
      for (const r of runners.splice(0)) await r.stop();
      await queues?.drop();
    });

    it('when both register the same job, then each tick runs it exactly once, on one of them, and never two runs at a time', async function () {
      this.timeout(60_000);
      const name = `sweep-${rnd()}`;
      const ran: string[] = [];
      let running = 0;
      let mostAtOnce = 0;
      const logs = captureLogs();
      try {
        for (let i = 0; i < 2; i++) {
          const runner = await pgBossRunner(queues.url, { schema: queues.schema });
          runners.push(runner);
          await runner.register({
            name,
            cron: NEVER,
            run: async () => {
              mostAtOnce = Math.max(mostAtOnce, ++running);
              ran.push(runner.instance);
              await new Promise((r) => setTimeout(r, 200)); // long enough for the other instance to try to take it too
              running--;
            },
          });
        }
        const ticks: string[] = [];
        for (let i = 0; i < 3; i++) ticks.push((await queues.clock.send(name, {}))!);
        for (const id of ticks) await waitFor(`tick ${id} completed`, async () => (await queues.clock.getJobById(name, id))?.state === 'completed', 30_000);
        expect(logs.of('job finished', name).map((l) => l.jobId).sort()).to.deep.equal([...ticks].sort());
      } finally {
        logs.stop();
      }
      expect(ran).to.have.length(3);
      expect(ran.every((i) => runners.some((r) => r.instance === i))).to.equal(true);
      expect(mostAtOnce).to.equal(1);
    });
  });

  describe('the API', () => {
    let a: RunningService;
    let b: RunningService;
    // A key cache far longer than any test: only the revocation notice can make an instance forget a key.
    const config = () => testConfig({ http: { port: 0 }, auth: { keyCacheTtlMs: 10 * 60_000 }, staff: { sessionCacheTtlMs: 10 * 60_000 } });
    before(async function () {
      this.timeout(30_000);
      a = await startService(config());
      b = await startService(config());
    });
    after(async function () {
      this.timeout(30_000);
      await a?.stop();
      await b?.stop();
    });
    afterEach(() => nock.cleanAll());

    const get = (s: RunningService, path: string, key: string) => fetch(`http://127.0.0.1:${s.port}${path}`, { headers: { authorization: `Bearer ${key}` } });

    it('when a key is revoked through one instance, then the other, which had it cached, refuses it at once', async () => {
      const { id, key } = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: 'all', name: 'two instances' }, 'system:test');
      for (const s of [a, b]) expect((await get(s, '/v1/courts', key)).status).to.equal(200); // cached on both now
      await revokeApiKey(a.db.knex, id);
      const deadline = Date.now() + 3000; // the notice's round trip; the cache would hold it for ten minutes
      while ((await get(b, '/v1/courts', key)).status === 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      for (const s of [b, a]) {
        const res = await get(s, '/v1/courts', key);
        expect(res.status).to.equal(401);
        expect(res.headers.get('content-type')).to.match(/application\/problem\+json/);
      }
    });

    /** Signs in on an instance as a browser would (the form's cookie and token, then the post): the session cookie. */
    async function signInOn(s: RunningService, login: string, password: string): Promise<string> {
      const form = await fetch(`http://127.0.0.1:${s.port}/console/login`);
      const formCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const res = await fetch(`http://127.0.0.1:${s.port}/console/login`, {
        method: 'POST', redirect: 'manual', headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login, password, csrf: csrfOf(await form.text()) }).toString(),
      });
      expect(res.status).to.equal(303);
      return sessionCookieOf(res.headers.getSetCookie());
    }
    const me = (s: RunningService, cookie: string) => fetch(`http://127.0.0.1:${s.port}/v1/me`, { headers: { cookie } });
    async function refusedAtOnce(s: RunningService, cookie: string): Promise<void> {
      const deadline = Date.now() + 3000; // the notice's round trip; the session cache would hold it for ten minutes
      while ((await me(s, cookie)).status === 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    }

    it('when a staff member signs out on one instance, then the other refuses the session at once', async () => {
      const p = await aPerson();
      const cookie = await signInOn(a, p.login, p.password);
      for (const s of [a, b]) expect((await me(s, cookie)).status).to.equal(200); // cached on both now
      const home = await fetch(`http://127.0.0.1:${a.port}/console`, { headers: { cookie } });
      const out = await fetch(`http://127.0.0.1:${a.port}/console/logout`, {
        method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: csrfOf(await home.text()) }).toString(),
      });
      expect(out.status).to.equal(303);
      await refusedAtOnce(b, cookie);
      for (const s of [b, a]) expect((await me(s, cookie)).status).to.equal(401);
    });

    it('when a person is disabled from the command line, then both instances refuse their session at once', async () => {
      const p = await aPerson();
      const cookie = await signInOn(b, p.login, p.password);
      for (const s of [a, b]) expect((await me(s, cookie)).status).to.equal(200);
      await disableStaffCommand(testEnv().knex, testEnv().config, p.login);
      await refusedAtOnce(a, cookie);
      await refusedAtOnce(b, cookie);
      for (const s of [a, b]) expect((await me(s, cookie)).status).to.equal(401);
    });

    it('when both are asked at once to reconcile the same court-day, then one runs it and the other answers 409 and changes nothing', async function () {
      this.timeout(30_000);
      const finance = (await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'finance', courts: 'all', name: 'two instances' }, 'system:test')).key;
      const date = '2025-06-17';
      // Stripe holds the first run's list until the other instance has answered: the claim is what refuses it, not timing.
      let answered: () => void = () => undefined;
      const firstAnswer = new Promise<void>((r) => (answered = r));
      const stripe = nock('https://api.stripe.com');
      stripe
        .get('/v1/balance_transactions')
        .query(true)
        .reply((_uri, _body, cb) => void firstAnswer.then(() => cb(null, [200, { object: 'list', url: '/v1/balance_transactions', has_more: false, data: [] }])));
      stripe.get('/v1/payouts').query(true).reply(200, { object: 'list', url: '/v1/payouts', has_more: false, data: [] });

      const post = (s: RunningService) =>
        fetch(`http://127.0.0.1:${s.port}/v1/reconciliations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${finance}`, 'content-type': 'application/json' },
          body: JSON.stringify({ date, courtCode: COURT }),
        }).then(async (res) => {
          answered();
          return { instance: s, status: res.status, type: res.headers.get('content-type'), body: await res.json() };
        });
      const answers = await Promise.all([post(a), post(b)]);

      const won = answers.filter((x) => x.status === 201);
      const refused = answers.filter((x) => x.status === 409);
      expect(won, JSON.stringify(answers.map((x) => [x.status, x.body]))).to.have.length(1);
      expect(refused).to.have.length(1);
      expect(refused[0].type).to.match(/application\/problem\+json/);
      expect(refused[0].body).to.include({ status: 409, code: 'reconciliation_running' });
      expect(refused[0].body.detail).to.include(COURT).and.include(date);
      expect(won[0].body.data[0]).to.include({ courtCode: COURT, date, status: 'completed' });
      const runs = await testEnv().knex('reconciliation_runs').where({ court_code: COURT, business_date: date });
      expect(runs.map((r) => [r.public_id, r.status, r.attempt])).to.deep.equal([[won[0].body.data[0].id, 'completed', 1]]);
      expect(stripe.isDone()).to.equal(true);
    });
  });
});
