import { expect } from 'chai';
import request from 'supertest';
import { buildApp } from '../../src/http/app';
import { sessionSettings, StaffSessions } from '../../src/staff/sessions';
import { captureLogs } from '../support/job-fixtures';
import { keyFor, testConfig, testEnv } from '../support/env';
import { aPerson, csrfOf, sessionCookieOf, signIn, signInCookie } from '../support/staff';

const auditOf = async (login: string) => testEnv().knex('audit_events').where({ entity_type: 'staff', entity_id: login }).orderBy('id');
const sessionsOf = async (login: string) => testEnv().knex('staff_sessions as ss').join('staff as s', 's.id', 'ss.staff_id').where('s.login', login).select('ss.*');
const rnd = () => Math.random().toString(36).slice(2, 8);
/** A client address of its own, so this test's failed sign-ins count against nobody else's (Express trusts the loopback proxy). */
const fromAddress = () => ({ 'x-forwarded-for': `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}` });

async function postLogin(agent: ReturnType<typeof request.agent>, login: string, password: string, headers: Record<string, string> = {}) {
  const form = await agent.get('/console/login').set(headers);
  return agent.post('/console/login').set(headers).type('form').send({ login, password, csrf: csrfOf(form.text) });
}
/** The refusal's page without what differs between two requests (the form token, the login typed back). */
const refusalPage = (html: string, login: string) => html.replace(/name="csrf" value="[^"]+"/, '').split(`value="${login}"`).join('value=""');

describe('console sign-in', () => {
  it('when a person signs in with the right password, then 303 to /console with an HttpOnly, SameSite=Lax session cookie, the console names them, and the sign-in is audited', async () => {
    const p = await aPerson({ roles: 'clerk,approver', courts: '1411,1412', name: '王芳<b>' });
    const agent = request.agent(testEnv().app);
    const res = await postLogin(agent, p.login.toUpperCase(), p.password);
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/console');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('courtpay_session='))!;
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i).and.match(/Path=\//);
    expect(cookie, 'not Secure outside production').not.to.match(/Secure/i);
    const home = await agent.get('/console');
    expect(home.status).to.equal(200);
    expect(home.text).to.include('王芳&lt;b&gt;').and.not.include('王芳<b>');
    expect(home.text).to.include('收费员').and.include('审批人').and.include('太原市迎泽区人民法院');
    const me = await agent.get('/v1/me');
    expect(me.body).to.deep.equal({ kind: 'session', person: { login: p.login, name: '王芳<b>' }, roles: ['clerk', 'approver'], courts: ['1411', '1412'] });
    const audit = await auditOf(p.login);
    expect(audit.map((a) => [a.action, a.actor_type, a.actor_id])).to.deep.include(['staff.signed_in', 'staff', p.login]);
    const [row] = await sessionsOf(p.login);
    expect(row.id).to.match(/^[0-9a-f]{64}$/);
    expect(cookie).not.to.include(row.id); // the cookie carries the token; the table only its hash
  });

  it('when English is chosen, then the sign-in page is in English and keeps the choice in the lang cookie', async () => {
    const agent = request.agent(testEnv().app);
    const en = await agent.get('/console/login?lang=en');
    expect(en.text).to.include('Staff sign-in').and.include('<html lang="en');
    expect((await agent.get('/console/login')).text).to.include('Staff sign-in');
    expect((await request(testEnv().app).get('/console/login')).text).to.include('工作人员登录');
  });

  it('when the password is wrong, the login unknown or the person disabled, then each gets the same 401 page, nothing signs in, and the audit says why without the password', async () => {
    const p = await aPerson();
    const disabled = await aPerson();
    await testEnv().knex('staff').where({ login: disabled.login }).update({ active: false });
    const logs = captureLogs();
    const answers: { status: number; page: string }[] = [];
    try {
      for (const [login, password] of [[p.login, 'wrong-password-1'], [`nobody-${rnd()}`, 'wrong-password-1'], [disabled.login, disabled.password]]) {
        const res = await postLogin(request.agent(testEnv().app), login, password, fromAddress());
        expect(res.headers['set-cookie'] ?? [], 'no session cookie').not.to.satisfy((l: string[]) => l.some((c) => c.startsWith('courtpay_session=')));
        answers.push({ status: res.status, page: refusalPage(res.text, login) });
      }
    } finally {
      logs.stop();
    }
    expect(answers.map((a) => a.status)).to.deep.equal([401, 401, 401]);
    expect(answers[1].page).to.equal(answers[0].page);
    expect(answers[2].page).to.equal(answers[0].page);
    expect(await sessionsOf(p.login)).to.have.length(0);
    expect(await sessionsOf(disabled.login)).to.have.length(0);
    const failed = await testEnv().knex('audit_events').where({ action: 'staff.sign_in_failed' }).whereIn('entity_id', [p.login, disabled.login]);
    expect(failed.map((a) => [a.entity_id, a.after.reason, a.actor_type])).to.have.deep.members([[p.login, 'wrong_password', 'anonymous'], [disabled.login, 'disabled', 'anonymous']]);
    const everything = JSON.stringify(await testEnv().knex('audit_events').where('entity_id', 'in', [p.login, disabled.login])) + JSON.stringify(logs.lines);
    expect(everything).not.to.include('wrong-password-1').and.not.include(disabled.password);
  });

  it('when a login fails maxFailedSignIns times, then it is locked — the right password too gets the same refusal — and the lock is audited without any password', async () => {
    const p = await aPerson();
    const max = testEnv().config.staff.maxFailedSignIns;
    const from = fromAddress();
    const logs = captureLogs();
    try {
      for (let i = 0; i < max; i++) expect((await postLogin(request.agent(testEnv().app), p.login, `guess-${i}-secret`, from)).status).to.equal(401);
      const right = await postLogin(request.agent(testEnv().app), p.login, p.password, from);
      expect(right.status).to.equal(401);
      expect(right.text).to.include('登录名或密码不正确');
    } finally {
      logs.stop();
    }
    expect(await sessionsOf(p.login)).to.have.length(0);
    const audit = await auditOf(p.login);
    expect(audit.filter((a) => a.action === 'staff.sign_in_failed').map((a) => a.after.reason)).to.deep.equal([...Array(max).fill('wrong_password'), 'locked']);
    expect(audit.filter((a) => a.action === 'staff.sign_in_locked')).to.have.length(1);
    const row = await testEnv().knex('staff').where({ login: p.login }).first();
    expect(row.locked_until.getTime()).to.be.greaterThan(Date.now() + (testEnv().config.staff.lockMinutes - 1) * 60_000);
    const everything = JSON.stringify(audit) + JSON.stringify(logs.lines);
    for (let i = 0; i < max; i++) expect(everything).not.to.include(`guess-${i}-secret`);
    expect(everything).not.to.include(p.password);
    // An admin re-enabling the person lifts the lock.
    await testEnv().knex('staff').where({ login: p.login }).update({ locked_until: null });
    expect((await postLogin(request.agent(testEnv().app), p.login, p.password, from)).status).to.equal(303);
  });

  it('when failed sign-ins from one address pass the failed-authentication limit, then the form answers 429 with Retry-After before any password is checked', async () => {
    const config = testConfig({ rateLimits: { authFailures: { max: 2, windowSeconds: 300 } }, ...(testEnv().embedded ? { db: { embeddedDir: 'memory://' } } : {}) });
    const app = buildApp({ ...testEnv(), config });
    const p = await aPerson();
    const from = fromAddress();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postLogin(request.agent(app), `nobody-${rnd()}`, 'x', from)).status);
    expect(statuses).to.deep.equal([401, 401, 429]);
    const blocked = await postLogin(request.agent(app), p.login, p.password, from);
    expect(blocked.status).to.equal(429);
    expect(blocked.headers['retry-after']).to.match(/^\d+$/);
    expect(await sessionsOf(p.login)).to.have.length(0);
  });

  it('when a form is posted without its CSRF token or with another one, then 403 and nothing changes: no session, no sign-out, no password set', async () => {
    const p = await aPerson();
    const before = (await auditOf(p.login)).length;
    const agent = request.agent(testEnv().app);
    await agent.get('/console/login');
    const none = await agent.post('/console/login').type('form').send({ login: p.login, password: p.password });
    const forged = await agent.post('/console/login').type('form').send({ login: p.login, password: p.password, csrf: 'A'.repeat(43) });
    const noCookie = await request(testEnv().app).post('/console/login').type('form').send({ login: p.login, password: p.password, csrf: 'A'.repeat(43) });
    expect([none.status, forged.status, noCookie.status]).to.deep.equal([403, 403, 403]);
    expect(await sessionsOf(p.login)).to.have.length(0);
    expect((await auditOf(p.login)).length).to.equal(before);

    const signedIn = await signIn(p);
    const out = await signedIn.post('/console/logout').type('form').send({ csrf: 'A'.repeat(43) });
    expect(out.status).to.equal(403);
    expect((await signedIn.get('/v1/me')).status, 'still signed in').to.equal(200);
    expect((await sessionsOf(p.login)).filter((s) => s.ended_at === null)).to.have.length(1);

    const created = await request(testEnv().app).post('/v1/staff').set({ authorization: `Bearer ${await adminKey()}` }).send({ login: `csrf-${rnd()}`, name: '设密码', roles: ['clerk'], courts: 'all' });
    const link = new URL(created.body.setPasswordUrl).pathname;
    const setter = request.agent(testEnv().app);
    await setter.get(link);
    const refused = await setter.post(link).type('form').send({ password: 'a-good-long-password', confirm: 'a-good-long-password' });
    expect(refused.status).to.equal(403);
    expect((await testEnv().knex('staff').where({ login: created.body.login }).first()).password_hash).to.equal(null);
  });

  it('when a person signs out, then the session ends (the old cookie gets 401 on /v1/me and the sign-in page from /console), and the sign-out is audited', async () => {
    const p = await aPerson();
    const agent = await signIn(p);
    const cookie = await signInCookie(p); // a second session of the same person, in another browser
    const home = await agent.get('/console');
    const out = await agent.post('/console/logout').type('form').send({ csrf: csrfOf(home.text) });
    expect(out.status).to.equal(303);
    expect(out.headers.location).to.equal('/console/login?done=signed_out');
    expect((await agent.get('/v1/me')).status).to.equal(401);
    const all = await sessionsOf(p.login);
    expect(all.map((s) => s.ended_reason).sort()).to.deep.equal([null, 'signed_out']);
    expect((await request(testEnv().app).get('/v1/me').set('cookie', cookie)).status, 'the other browser keeps its own session').to.equal(200);
    expect((await auditOf(p.login)).map((a) => a.action)).to.include('staff.signed_out');
  });

  it('when the cookie is garbage, made up, or a signed-out session\'s, then /v1/me is 401 problem+json and /console sends to the sign-in page', async () => {
    const p = await aPerson();
    const ended = await signInCookie(p);
    await request(testEnv().app).get('/console').set('cookie', ended); // cached now
    const home = await request(testEnv().app).get('/console').set('cookie', ended);
    await request(testEnv().app).post('/console/logout').set('cookie', ended).type('form').send({ csrf: csrfOf(home.text) });
    for (const cookie of ['courtpay_session=garbage', `courtpay_session=${'B'.repeat(43)}`, ended, 'courtpay_session=%E0%A4%A']) {
      const me = await request(testEnv().app).get('/v1/me').set('cookie', cookie);
      expect(me.status, cookie).to.equal(401);
      expect(me.headers['content-type']).to.match(/application\/problem\+json/);
      expect(me.body.code).to.equal('invalid_session');
      const page = await request(testEnv().app).get('/console').set('cookie', cookie);
      expect(page.status).to.equal(303);
      expect(page.headers.location).to.match(/^\/console\/login/);
    }
    expect((await request(testEnv().app).get('/console')).headers.location).to.equal('/console/login');
  });

  describe('session lifetime (the clock moved by the test)', () => {
    let now = Date.now();
    const clock = () => now;
    const appWithClock = () => {
      const { knex, config, authenticator } = testEnv();
      return buildApp({ ...testEnv(), sessions: new StaffSessions(knex, sessionSettings(config), authenticator, clock) });
    };

    it('when a session is not used for longer than the idle timeout, then it has ended; used within it, it lives on', async () => {
      now = Date.now();
      const app = appWithClock();
      const p = await aPerson();
      const cookie = await signInCookie(p, app);
      const idle = testEnv().config.staff.sessionIdleMinutes * 60_000;
      for (let i = 0; i < 4; i++) {
        now += idle * 0.8;
        expect((await request(app).get('/v1/me').set('cookie', cookie)).status, `use ${i}`).to.equal(200);
        await new Promise((r) => setTimeout(r, 50)); // the use is recorded in the background
      }
      now += idle + 1;
      expect((await request(app).get('/v1/me').set('cookie', cookie)).status).to.equal(401);
      expect((await sessionsOf(p.login))[0].ended_reason).to.equal('idle');
    });

    it('when a session reaches its absolute lifetime, then it has ended however active it was', async () => {
      const start = (now = Date.now());
      const app = appWithClock();
      const p = await aPerson();
      const res = await postLogin(request.agent(app), p.login, p.password);
      const cookie = sessionCookieOf(res.headers['set-cookie'] as unknown as string[]);
      const max = testEnv().config.staff.sessionMaxHours * 3600_000;
      const step = testEnv().config.staff.sessionIdleMinutes * 60_000 * 0.5;
      while (now + step < start + max) {
        now += step;
        expect((await request(app).get('/v1/me').set('cookie', cookie)).status).to.equal(200);
      }
      now = start + max;
      expect((await request(app).get('/v1/me').set('cookie', cookie)).status).to.equal(401);
      expect((await sessionsOf(p.login))[0].ended_reason).to.equal('expired');
    });
  });
});

const adminKey = () => keyFor('admin', 'all');
