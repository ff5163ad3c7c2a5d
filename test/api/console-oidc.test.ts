import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { ConfigError, loadConfig } from '../../src/config';
import { buildApp, type App } from '../../src/http/app';
import { aPerson, sessionCookieOf } from '../support/staff';
import { testConfig, testEnv } from '../support/env';

/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider) on 127.0.0.1, driven over
 * HTTP as a browser would: our redirect, the provider's authorize endpoint, its login and consent
 * forms (its development interactions), its redirect back to our callback.
 */
const CLIENT = { id: 'courtpay-console', secret: 'a-client-secret-for-the-test-provider' };
const CALLBACK = 'https://pay.courts.example/console/login/oidc/callback';
const rnd = () => Math.random().toString(36).slice(2, 8);

interface TestProvider {
  issuer: string;
  /** A provider account (its id is what one types at its login form) and the claims it asserts. */
  accounts: Map<string, Record<string, string>>;
  /** Calls of its userinfo endpoint so far. */
  userinfoCalls: number;
  close: () => Promise<void>;
}

/**
 * A provider on 127.0.0.1. By default it follows the core spec's rule that profile claims asked for
 * by scope go to userinfo, not the ID token; with `loginInIdToken` it puts them in the ID token too.
 */
async function startProvider(o: { loginInIdToken?: boolean } = {}): Promise<TestProvider> {
  const name = 'oidc-provider'; // an ES module without types: loaded as Node loads it
  const { default: Provider } = await import(name);
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, Record<string, string>>();
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, redirect_uris: [CALLBACK], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
    findAccount: async (_ctx: unknown, id: string) => (accounts.has(id) ? { accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) } : undefined),
    cookies: { keys: ['a-cookie-key-for-the-test-provider'] },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
    conformIdTokenClaims: !o.loginInIdToken,
  });
  const handle = provider.callback();
  const op: TestProvider = { issuer, accounts, userinfoCalls: 0, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url?.startsWith('/me')) op.userinfoCalls += 1;
    handle(req, res);
  });
  return op;
}

/** Cookies by name (enough for one browser on two sites): a Set-Cookie that expires one removes it. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(setCookie: string[] | string | undefined): void {
    for (const c of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const [k, v] = [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
      const gone = !v || attrs.some((a) => /^\s*max-age=0/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split('=')[1]).getTime() < Date.now()));
      if (gone) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  has(name: string): boolean {
    return this.cookies.has(name);
  }
}

/**
 * One browser signing in with the provider's account `accountId`: returns our callback's answer.
 * `tamper` may change the callback's URL (as an attacker would) before it reaches us.
 */
async function ssoSignIn(app: App, op: TestProvider, accountId: string, o: { tamper?: (u: URL) => void; ours?: Jar } = {}) {
  const ours = o.ours ?? new Jar();
  const theirs = new Jar();
  const start = await request(app).get('/console/login/oidc').set('cookie', ours.header());
  expect(start.status, start.text).to.equal(303);
  ours.take(start.headers['set-cookie']);
  let url = new URL(start.headers.location);
  expect(url.origin).to.equal(op.issuer);
  expect(url.searchParams.get('code_challenge_method')).to.equal('S256');
  for (let hops = 0; url.origin === op.issuer; hops++) {
    if (hops > 12) throw new Error('the provider kept redirecting');
    let res = await fetch(url, { redirect: 'manual', headers: { cookie: theirs.header() } });
    theirs.take(res.headers.getSetCookie());
    if (res.status === 200) {
      const page = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
      if (!action || !prompt) throw new Error(`no interaction form: ${page.slice(0, 300)}`);
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login: accountId, password: 'any' } : { prompt });
      res = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', headers: { cookie: theirs.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      theirs.take(res.headers.getSetCookie());
    }
    if (res.status < 300 || res.status > 399) throw new Error(`the provider answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    url = new URL(res.headers.get('location')!, url);
  }
  expect(url.href.startsWith(`${CALLBACK}?`), url.href).to.equal(true);
  o.tamper?.(url);
  const back = await request(app).get(`${url.pathname}${url.search}`).set('cookie', ours.header());
  ours.take(back.headers['set-cookie']);
  return { res: back, jar: ours };
}

const sessionRowsOf = (login: string) => testEnv().knex('staff_sessions as ss').join('staff as s', 's.id', 'ss.staff_id').where('s.login', login).select('ss.id');
const auditOf = (login: string) => testEnv().knex('audit_events').where({ entity_type: 'staff', entity_id: login }).orderBy('id');
const afterOf = (a: { after: unknown }) => (typeof a.after === 'string' ? JSON.parse(a.after) : a.after) as Record<string, unknown>;

describe('console single sign-on (OpenID Connect)', () => {
  let op: TestProvider;
  let app: App;

  const appFor = (provider: TestProvider) => {
    const oidc = { issuer: provider.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, label: '法院统一身份认证' };
    return buildApp({ ...testEnv(), config: testConfig({ staff: { oidc }, ...(testEnv().embedded ? { db: { embeddedDir: 'memory://' } } : {}) }) });
  };

  before(async () => {
    op = await startProvider();
    app = appFor(op);
    // The provider is on 127.0.0.1, which test/support/hooks.ts already lets through nock (loopback only).
  });
  after(async () => {
    await op.close();
  });

  it('when single sign-on is configured, then the sign-in page offers it beside the password form; without it, there is no button and its routes are 404', async () => {
    const page = await request(app).get('/console/login');
    expect(page.text).to.include('href="/console/login/oidc"').and.include('使用法院统一身份认证登录');
    expect((await request(app).get('/console/login?lang=en')).text).to.include('Sign in with 法院统一身份认证');
    const plain = await request(testEnv().app).get('/console/login');
    expect(plain.text).not.to.include('/console/login/oidc');
    expect((await request(testEnv().app).get('/console/login/oidc')).status).to.equal(404);
    expect((await request(testEnv().app).get('/console/login/oidc/callback?code=x&state=y')).status).to.equal(404);
  });

  it('when a person signs in at the provider as an active staff login, then our callback starts the same session as a password sign-in, /v1/me names them, and it is audited as oidc', async () => {
    const p = await aPerson({ roles: 'clerk,approver', courts: '1411', name: '王芳' });
    const account = `op-${rnd()}`;
    op.accounts.set(account, { preferred_username: p.login.toUpperCase(), name: 'Wang Fang at the provider' });
    const { res, jar } = await ssoSignIn(app, op, account);
    expect(res.status, res.text).to.equal(303);
    expect(res.headers.location).to.equal('/console');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('courtpay_session='))!;
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i);
    expect(jar.has('courtpay_oidc'), 'the state cookie is spent').to.equal(false);
    const me = await request(testEnv().app).get('/v1/me').set('cookie', sessionCookieOf(res.headers['set-cookie'] as unknown as string[]));
    expect(me.status).to.equal(200);
    expect(me.body).to.deep.equal({ kind: 'session', person: { login: p.login, name: '王芳' }, roles: ['clerk', 'approver'], courts: ['1411'] });
    const home = await request(app).get('/console').set('cookie', jar.header());
    expect(home.status).to.equal(200);
    expect(home.text).to.include('王芳');
    const signedIn = (await auditOf(p.login)).filter((a) => a.action === 'staff.signed_in');
    expect(signedIn).to.have.length(1);
    expect(signedIn[0].actor_id).to.equal(p.login);
    expect(afterOf(signedIn[0])).to.include({ method: 'oidc', subject: account });
    expect(await sessionRowsOf(p.login)).to.have.length(1);
    expect(op.userinfoCalls, 'the login claim came from userinfo').to.equal(1);
  });

  it('when the provider puts the login claim in the ID token itself, then the sign-in works without asking userinfo', async () => {
    const other = await startProvider({ loginInIdToken: true });
    try {
      const p = await aPerson();
      const account = `op-${rnd()}`;
      other.accounts.set(account, { preferred_username: p.login });
      const { res } = await ssoSignIn(appFor(other), other, account);
      expect(res.status, res.text).to.equal(303);
      const me = await request(testEnv().app).get('/v1/me').set('cookie', sessionCookieOf(res.headers['set-cookie'] as unknown as string[]));
      expect(me.body.person).to.deep.equal({ login: p.login, name: p.name });
      expect(other.userinfoCalls).to.equal(0);
    } finally {
      await other.close();
    }
  });

  it('when the provider vouches for a login we do not know or a disabled person, then each gets the wrong-password page, no session, and the audit says why', async () => {
    const disabled = await aPerson();
    await testEnv().knex('staff').where({ login: disabled.login }).update({ active: false });
    const unknown = `nobody-${rnd()}`;
    const cases = [[`op-${rnd()}`, unknown, 'unknown_login'], [`op-${rnd()}`, disabled.login, 'disabled']] as const;
    for (const [account, login, reason] of cases) {
      op.accounts.set(account, { preferred_username: login });
      const { res } = await ssoSignIn(app, op, account);
      expect(res.status, reason).to.equal(401);
      expect(res.text).to.include('登录名或密码不正确');
      expect(res.headers['set-cookie']?.toString() ?? '').not.to.include('courtpay_session=');
      const failed = (await auditOf(login)).filter((a) => a.action === 'staff.sign_in_failed');
      expect(failed.map(afterOf), reason).to.have.length(1);
      expect(afterOf(failed[0])).to.include({ reason, method: 'oidc', subject: account });
      expect(failed[0].actor_type).to.equal('anonymous');
    }
    expect(await sessionRowsOf(disabled.login)).to.have.length(0);
    // The same page a wrong password gets (without the form token, which differs every time).
    const wrong = await request(app).post('/console/login').set('cookie', 'courtpay_form=' + 'a'.repeat(43)).type('form').send({ login: disabled.login, password: 'wrong-password', csrf: 'a'.repeat(43) });
    const strip = (h: string) => h.replace(/name="csrf" value="[^"]+"/, '').replace(/ value="[^"]*" autocomplete="username"/, ' autocomplete="username"');
    const sso = await ssoSignIn(app, op, cases[0][0]);
    expect(strip(sso.res.text)).to.equal(strip(wrong.text));
  });

  it('when the state coming back is altered, or the callback arrives without this browser\'s state cookie, then it is refused, no session starts, and the refusal is audited', async () => {
    const p = await aPerson();
    const account = `op-${rnd()}`;
    op.accounts.set(account, { preferred_username: p.login });
    const before = await testEnv().knex('audit_events').where({ action: 'staff.sign_in_failed', entity_id: 'oidc' }).count<{ n: string }[]>({ n: '*' });
    const tampered = await ssoSignIn(app, op, account, { tamper: (u) => u.searchParams.set('state', `${u.searchParams.get('state')}x`) });
    expect(tampered.res.status).to.equal(401);
    expect(tampered.res.text).to.include('登录名或密码不正确');
    let stolen = '';
    const elsewhere = await ssoSignIn(app, op, account, { tamper: (u) => void (stolen = `${u.pathname}${u.search}`) });
    expect(elsewhere.res.status, 'the browser that started it signs in').to.equal(303);
    // The same code and state, from a browser that did not start the sign-in (no state cookie), and once more from the first.
    const replay = await request(app).get(stolen);
    expect(replay.status).to.equal(401);
    const again = await request(app).get(stolen).set('cookie', tampered.jar.header());
    expect(again.status).to.equal(401);
    expect(await sessionRowsOf(p.login), 'only the honest sign-in').to.have.length(1);
    const reasons = (await testEnv().knex('audit_events').where({ action: 'staff.sign_in_failed', entity_id: 'oidc' }).orderBy('id').offset(Number(before[0].n))).map((a) => afterOf(a).reason);
    expect(reasons).to.include('provider_refused').and.include('no_pending_sign_in');
  });

  it('when the provider cannot be reached, then the sign-in button answers 503 with the password form still there', async () => {
    const down = buildApp({ ...testEnv(), config: testConfig({ staff: { oidc: { issuer: 'http://127.0.0.1:9/', clientId: 'x', clientSecret: 'y', label: 'SSO' } }, ...(testEnv().embedded ? { db: { embeddedDir: 'memory://' } } : {}) }) });
    const res = await request(down).get('/console/login/oidc');
    expect(res.status).to.equal(503);
    expect(res.text).to.include('暂时无法连接统一身份认证').and.include('name="password"');
  });
});

describe('single sign-on settings', () => {
  const base = { NODE_ENV: 'test', PORT: '0' };
  const oidc = { issuer: 'https://idp.courts.example/realms/courts', clientId: 'courtpay', clientSecret: 's3cret', label: 'SSO' };

  it('when staff.oidc is not set, then it is null; when set, loginClaim defaults to preferred_username', () => {
    expect(loadConfig({ env: base }).staff.oidc).to.equal(null);
    expect(loadConfig({ env: base, overrides: { staff: { oidc } } }).staff.oidc).to.deep.equal({ ...oidc, loginClaim: 'preferred_username' });
  });

  it('when staff.oidc lacks a setting, or production names a plain-http issuer, then start-up stops naming it', () => {
    expect(() => loadConfig({ env: base, overrides: { staff: { oidc: { ...oidc, label: undefined } } } })).to.throw(ConfigError, /staff\.oidc\.label/);
    expect(() => loadConfig({ env: { ...base, OIDC_CLIENT_SECRET: 'x' } })).to.throw(ConfigError, /staff\.oidc\.issuer/);
    const production = {
      NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/d', STRIPE_SECRET_KEY: 'sk_live_1', STRIPE_WEBHOOK_SECRET: 'whsec_1', PUBLIC_BASE_URL: 'https://pay.courts.example', API_KEY_CHECKSUM_SECRET: 'a-production-secret-of-32-chars!',
    };
    expect(() => loadConfig({ env: production, overrides: { staff: { oidc: { ...oidc, issuer: 'http://idp.courts.example' } } } })).to.throw(ConfigError, /staff\.oidc\.issuer: must be https/);
    const { clientSecret: _inTheFile, ...withoutSecret } = oidc;
    const cfg = loadConfig({ env: { ...production, OIDC_CLIENT_SECRET: 'from-the-environment' }, overrides: { staff: { oidc: withoutSecret } } });
    expect(cfg.staff.oidc?.clientSecret).to.equal('from-the-environment');
  });
});
