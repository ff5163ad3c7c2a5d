import { expect } from 'chai';
import request from 'supertest';
import { createApiKey } from '../../src/auth/api-key-store';
import { createStaffCommand, disableStaffCommand } from '../../src/staff/commands';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { aPerson, csrfOf, signIn, signInCookie } from '../support/staff';

const rnd = () => Math.random().toString(36).slice(2, 8);
const staffCount = async () => Number((await testEnv().knex('staff').count<{ count: string }[]>('* as count'))[0].count);
const auditCount = async () => Number((await testEnv().knex('audit_events').count<{ count: string }[]>('* as count'))[0].count);

/** Follows a set-password link as a browser would: the form, then the post with its token. */
async function setPassword(url: string, password: string, confirm = password) {
  const path = new URL(url).pathname;
  const agent = request.agent(testEnv().app);
  const form = await agent.get(path);
  if (form.status !== 200) return form;
  return agent.post(path).type('form').send({ password, confirm, csrf: csrfOf(form.text) });
}

describe('staff accounts', () => {
  let admin: string;
  before(async () => (admin = await keyFor('admin', 'all')));

  it('when an admin creates a person, then the set-password link is answered once (a replay shows null), it sets the password once, and the person signs in and is named by /v1/me', async () => {
    const login = `wangfang-${rnd()}`;
    const body = { login, name: '王芳', roles: ['clerk', 'approver'], courts: ['1401', '1411'] };
    const res = await api().post('/v1/staff').set(auth(admin)).set('idempotency-key', `k-${login}`).send(body);
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({ login, name: '王芳', active: true, passwordSet: false });
    expect(res.body.courts).to.deep.equal(['1401', '1411']);
    expect(res.body.setPasswordUrl).to.match(/^https:\/\/pay\.courts\.example\/console\/set-password\/[A-Za-z0-9_-]{43}$/);
    const replay = await api().post('/v1/staff').set(auth(admin)).set('idempotency-key', `k-${login}`).send(body);
    expect(replay.status).to.equal(201);
    expect(replay.body.setPasswordUrl).to.equal(null);
    const token = res.body.setPasswordUrl.split('/').pop();
    const stored = JSON.stringify(await testEnv().knex('idempotency_keys').where({ key: `k-${login}` })) + JSON.stringify(await testEnv().knex('audit_events').where({ entity_id: login }));
    expect(stored).not.to.include(token);

    expect((await setPassword(res.body.setPasswordUrl, 'short')).status).to.equal(422);
    expect((await setPassword(res.body.setPasswordUrl, 'a-long-password-1', 'a-long-password-2')).status).to.equal(422);
    const done = await setPassword(res.body.setPasswordUrl, 'a-long-password-1');
    expect(done.status).to.equal(303);
    expect(done.headers.location).to.equal('/console/login?done=password');
    expect((await setPassword(res.body.setPasswordUrl, 'another-long-password')).status, 'the link works once').to.equal(404);

    const agent = await signIn({ login, password: 'a-long-password-1' });
    expect((await agent.get('/v1/me')).body).to.deep.equal({ kind: 'session', person: { login, name: '王芳' }, roles: ['clerk', 'approver'], courts: ['1401', '1411'] });
    const actions = (await testEnv().knex('audit_events').where({ entity_type: 'staff', entity_id: login }).orderBy('id')).map((a) => a.action);
    expect(actions).to.deep.equal(['staff.created', 'staff.password_set', 'staff.signed_in']);
  });

  it('when the command line creates a person, then it gives a one-time link, or with --password-stdin sets the password at once', async () => {
    const { knex, config } = testEnv();
    const withLink = await createStaffCommand(knex, config, { login: `cli-${rnd()}`, name: '李明', roles: 'finance', courts: 'all' });
    expect(withLink.url).to.match(/\/console\/set-password\/[A-Za-z0-9_-]{43}$/);
    expect(withLink.staff.password_hash).to.equal(null);
    const login = `cli-${rnd()}`;
    const made = await createStaffCommand(knex, config, { login, name: '赵六', roles: 'admin,finance', courts: '1411', password: 'from-standard-input' });
    expect(made.url).to.equal(null);
    expect(made.staff.password_hash).to.match(/^\$argon2id\$/);
    const agent = await signIn({ login, password: 'from-standard-input' });
    expect((await agent.get('/v1/me')).body.roles).to.deep.equal(['admin', 'finance']);
    const audit = await knex('audit_events').where({ action: 'staff.created', entity_id: login }).first();
    expect([audit.actor_type, audit.actor_id]).to.deep.equal(['operator', 'cli']);
    expect(JSON.stringify(audit)).not.to.include('from-standard-input').and.not.include('argon2');
  });

  it('when bad input is sent, then a clear 4xx names the field and no person is made', async () => {
    const login = `dup-${rnd()}`;
    await aPerson({ login });
    const [people, audits] = [await staffCount(), await auditCount()];
    for (const [body, status, field] of [
      [{ login: `x-${rnd()}`, name: 'x', roles: ['case_system'], courts: 'all' }, 422, 'roles.0'],
      [{ login: `x-${rnd()}`, name: 'x', roles: [], courts: 'all' }, 422, 'roles'],
      [{ login: 'Bad Login!', name: 'x', roles: ['clerk'], courts: 'all' }, 422, 'login'],
      [{ login: `x-${rnd()}`, name: 'x', roles: ['clerk'], courts: ['9999'] }, 422, 'courts'],
      [{ login: `x-${rnd()}`, roles: ['clerk'], courts: 'all' }, 422, 'name'],
    ] as const) {
      const res = await api().post('/v1/staff').set(auth(admin)).send(body);
      expect(res.status, JSON.stringify(body)).to.equal(status);
      expect(res.headers['content-type']).to.match(/application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).to.include(field);
    }
    const taken = await api().post('/v1/staff').set(auth(admin)).send({ login, name: 'x', roles: ['clerk'], courts: 'all' });
    expect([taken.status, taken.body.code]).to.deep.equal([409, 'staff_login_taken']);
    expect(await staffCount()).to.equal(people);
    expect(await auditCount()).to.equal(audits);
  });

  it('when an admin is scoped to a court, then it sees and changes only staff wholly within its courts, and creating outside them is 403 with nothing made', async () => {
    const courtAdmin = await keyFor('admin', ['1411']);
    const inside = await aPerson({ courts: '1411' });
    const straddling = await aPerson({ courts: '1411,1412' });
    const everywhere = await aPerson({ courts: 'all' });
    const listed: string[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page: { status: number; body: { data: { login: string }[]; nextCursor: string | null } } = await api().get(`/v1/staff?limit=500${cursor ? `&cursor=${cursor}` : ''}`).set(auth(courtAdmin));
      expect(page.status).to.equal(200);
      listed.push(...page.body.data.map((s: { login: string }) => s.login));
      cursor = page.body.nextCursor;
    }
    expect(listed).to.include(inside.login).and.not.include(straddling.login).and.not.include(everywhere.login);
    const people = await staffCount();
    const out = await api().post('/v1/staff').set(auth(courtAdmin)).send({ login: `o-${rnd()}`, name: 'x', roles: ['clerk'], courts: ['1412'] });
    expect([out.status, out.body.code]).to.deep.equal([403, 'court_out_of_scope']);
    expect(await staffCount()).to.equal(people);
    for (const p of [straddling, everywhere]) expect((await api().patch(`/v1/staff/${p.login}`).set(auth(courtAdmin)).send({ active: false })).status).to.equal(404);
    const widen = await api().patch(`/v1/staff/${inside.login}`).set(auth(courtAdmin)).send({ courts: ['1411', '1412'] });
    expect(widen.status).to.equal(403);
    const rows = await testEnv().knex('staff').whereIn('login', [inside.login, straddling.login, everywhere.login]).select('login', 'active', 'court_codes');
    expect(rows.every((r) => r.active)).to.equal(true);
    expect(rows.find((r) => r.login === inside.login)!.court_codes).to.deep.equal(['1411']);
  });

  it('when a person is disabled through the API, then their open session is refused at once, their key too, and they cannot sign in again', async () => {
    const p = await aPerson({ roles: 'clerk', courts: '1411' });
    const agent = await signIn(p);
    const owned = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: ['1411'], name: 'clerk script', owner: p.login }, 'system:test');
    expect((await agent.get('/v1/me')).status).to.equal(200); // cached now
    const me = await api().get('/v1/me').set(auth(owned.key));
    expect(me.body).to.deep.equal({ kind: 'api_key', person: { login: p.login, name: p.name }, roles: ['clerk'], courts: ['1411'] });
    const res = await api().patch(`/v1/staff/${p.login}`).set(auth(admin)).send({ active: false });
    expect(res.status).to.equal(200);
    expect(res.body.active).to.equal(false);
    expect((await agent.get('/v1/me')).status).to.equal(401);
    expect((await agent.get('/console')).status).to.equal(303);
    expect((await api().get('/v1/courts').set(auth(owned.key))).status, 'the owned key is refused').to.equal(401);
    const again = await request.agent(testEnv().app).get('/console/login');
    const post = await request(testEnv().app).post('/console/login').set('cookie', (again.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ')).type('form')
      .send({ login: p.login, password: p.password, csrf: csrfOf(again.text) });
    expect(post.status).to.equal(401);
    const sessions = await testEnv().knex('staff_sessions as ss').join('staff as s', 's.id', 'ss.staff_id').where('s.login', p.login).select('ss.ended_reason');
    expect(sessions.map((s) => s.ended_reason)).to.deep.equal(['staff_disabled']);
    const audit = await testEnv().knex('audit_events').where({ action: 'staff.disabled', entity_id: p.login }).first();
    expect(audit.after.active).to.equal(false);
  });

  it('when the command line disables a person, then their session ends at once', async () => {
    const p = await aPerson();
    const cookie = await signInCookie(p);
    expect((await api().get('/v1/me').set('cookie', cookie)).status).to.equal(200);
    await disableStaffCommand(testEnv().knex, testEnv().config, p.login);
    expect((await api().get('/v1/me').set('cookie', cookie)).status).to.equal(401);
  });

  it('when a signed-in person\'s roles or courts change, then their next request has the new ones', async () => {
    const p = await aPerson({ roles: 'clerk', courts: '1411' });
    const cookie = await signInCookie(p);
    expect((await api().get('/v1/me').set('cookie', cookie)).body.roles).to.deep.equal(['clerk']);
    expect((await api().patch(`/v1/staff/${p.login}`).set(auth(admin)).send({ roles: ['approver', 'finance'], courts: 'all' })).status).to.equal(200);
    const me = await api().get('/v1/me').set('cookie', cookie);
    expect(me.body).to.deep.include({ roles: ['approver', 'finance'], courts: 'all' });
  });

  it('when an admin asks for a new set-password link, then it is shown once, and the old password works until the new one is set', async () => {
    const p = await aPerson();
    const res = await api().patch(`/v1/staff/${p.login}`).set(auth(admin)).send({ resetPassword: true });
    expect(res.status).to.equal(200);
    expect(res.body.setPasswordUrl).to.match(/\/console\/set-password\//);
    await signIn(p);
    expect((await setPassword(res.body.setPasswordUrl, 'brand-new-password')).status).to.equal(303);
    expect((await request(testEnv().app).get('/console/login')).status).to.equal(200);
    await signIn({ login: p.login, password: 'brand-new-password' });
    const ended = await testEnv().knex('staff_sessions as ss').join('staff as s', 's.id', 'ss.staff_id').where('s.login', p.login).select('ss.ended_reason').orderBy('ss.created_at');
    expect(ended.map((s) => s.ended_reason)).to.deep.equal(['password_set', null]);
  });

  it('when a set-password link has expired, or its person is disabled, then it shows the invalid-link page and sets nothing', async () => {
    const { knex, config } = testEnv();
    const expired = await createStaffCommand(knex, config, { login: `exp-${rnd()}`, name: '过期', roles: 'clerk', courts: 'all' });
    await knex('staff').where({ id: expired.staff.id }).update({ set_password_expires_at: new Date(Date.now() - 1000) });
    const disabled = await createStaffCommand(knex, config, { login: `dis-${rnd()}`, name: '停用', roles: 'clerk', courts: 'all' });
    await disableStaffCommand(knex, config, disabled.staff.login);
    for (const made of [expired, disabled]) {
      const page = await request(testEnv().app).get(new URL(made.url!).pathname);
      expect(page.status).to.equal(404);
      expect(page.text).to.include('此设置密码链接无效');
      expect((await knex('staff').where({ id: made.staff.id }).first()).password_hash).to.equal(null);
    }
    expect((await request(testEnv().app).get('/console/set-password/not-a-token')).status).to.equal(404);
  });

  it('when the API is described, then the staff routes are in it and GET /v1/me takes a key or a staff session', async () => {
    const doc = (await api().get('/openapi.json')).body;
    for (const [path, method] of [['/v1/me', 'get'], ['/v1/staff', 'get'], ['/v1/staff', 'post'], ['/v1/staff/{login}', 'patch'], ['/console/login', 'post'], ['/console/logout', 'post']]) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).to.be.an('object');
    }
    expect(doc.paths['/v1/me'].get.security).to.deep.equal([{ apiKey: [] }, { staffSession: [] }]);
    expect(doc.paths['/v1/staff'].get.security).to.equal(undefined); // keys only
    expect(doc.components.securitySchemes.staffSession).to.include({ type: 'apiKey', in: 'cookie', name: 'courtpay_session' });
  });

  it('when a key is made for an owner who does not exist, then nothing is made', async () => {
    let error: Error | null = null;
    try {
      await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: 'all', name: 'x', owner: `nobody-${rnd()}` });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(/no active member of staff/);
  });
});
