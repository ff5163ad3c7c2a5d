import request from 'supertest';
import type { App } from '../../src/http/app';
import { createStaffCommand } from '../../src/staff/commands';
import { testEnv } from './env';

let seq = 0;

export interface TestPerson {
  login: string;
  password: string;
  name: string;
}

/** A person made through the command line's own function, with a password set at once (--password-stdin). */
export async function aPerson(o: { roles?: string; courts?: string; name?: string; login?: string } = {}): Promise<TestPerson> {
  seq += 1;
  const login = o.login ?? `p${process.pid % 10000}-${seq}-${Math.random().toString(36).slice(2, 7)}`;
  const password = `pw-${Math.random().toString(36).slice(2)}-long`;
  const name = o.name ?? `测试人员${seq}`;
  await createStaffCommand(testEnv().knex, testEnv().config, { login, name, roles: o.roles ?? 'clerk', courts: o.courts ?? 'all', password });
  return { login, password, name };
}

/** The CSRF field of a rendered form. */
export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no csrf field in the page: ${html.slice(0, 300)}`);
  return m[1];
}

/** A browser-like client with a cookie jar: the sign-in form fetched, then posted. */
export async function signIn(person: { login: string; password: string }, app: App = testEnv().app) {
  const agent = request.agent(app);
  const form = await agent.get('/console/login');
  const res = await agent.post('/console/login').type('form').send({ login: person.login, password: person.password, csrf: csrfOf(form.text) });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${res.text.slice(0, 300)}`);
  return agent;
}

/** Signs in and returns the session cookie as a Cookie header's "name=value" (for plain requests). */
export async function signInCookie(person: { login: string; password: string }, app: App = testEnv().app): Promise<string> {
  const form = await request(app).get('/console/login');
  const formCookie = (form.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
  const res = await request(app).post('/console/login').set('cookie', formCookie).type('form').send({ login: person.login, password: person.password, csrf: csrfOf(form.text) });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${res.text.slice(0, 300)}`);
  return sessionCookieOf(res.headers['set-cookie'] as unknown as string[]);
}

/** The session cookie's "name=value" from a Set-Cookie list. */
export function sessionCookieOf(setCookie: string[] | string | undefined): string {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const c = list.find((x) => x.startsWith('courtpay_session='));
  if (!c) throw new Error(`no session cookie in ${JSON.stringify(list)}`);
  return c.split(';')[0];
}
