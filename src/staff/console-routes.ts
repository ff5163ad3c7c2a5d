import type { Request, Response } from 'express';
import type { Config } from '../config';
import { clientSubject, type RateLimiter } from '../http/rate-limit';
import type { ReadRoute, Reply, RouteDef } from '../http/route';
import { pickLang, type Lang } from '../pages/i18n';
import { clearFormCookie, clearSessionCookie, formCookieName, readCookie, sessionToken, setFormCookie, setSessionCookie } from './cookies';
import { renderConsoleHome, renderForbidden, renderInvalidLink, renderLogin, renderSetPassword, type LoginView } from './console-views';
import { randomToken, sameSecret, TOKEN_RE } from './secrets';
import type { SessionPrincipal, StaffSessions } from './sessions';
import { personOfLink, setPasswordWithLink, signIn } from './sign-in';

export const html = (status: number, body: string, extra: Record<string, string> = {}): Reply => ({ status, body, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...extra } });
export const seeOther = (location: string): Reply => ({ status: 303, headers: { location, 'cache-control': 'no-store' } });
const field = (req: Request, name: string): string | undefined => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * The same language rule as the litigant pages: Chinese unless the person chose (`?lang=`, or the
 * form's `lang`); a choice is kept in the `lang` cookie, here for /console.
 */
export function consoleLang(req: Request, res: Response): Lang {
  const raw = field(req, 'lang') ?? (typeof req.query.lang === 'string' ? req.query.lang : undefined);
  const chosen = raw === 'en' || raw === 'zh' ? raw : null;
  if (chosen) res.append('set-cookie', `lang=${chosen}; Path=/console; Max-Age=31536000; SameSite=Lax`);
  return chosen ?? pickLang(undefined, req.get('cookie'));
}
export const withLang = (path: string, lang: Lang) => (lang === 'zh' ? path : `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);

/**
 * CSRF: forms shown before sign-in (sign-in, set password) carry the random token of a SameSite=Strict
 * form cookie (double submit); forms of a signed-in person carry the session's own synchronizer token,
 * stored in its row. A post without the right token is refused (403) before anything is read or changed.
 */
export function formToken(req: Request, res: Response, config: Readonly<Config>): string {
  const existing = readCookie(req, formCookieName(config));
  if (existing && TOKEN_RE.test(existing)) return existing;
  const token = randomToken();
  setFormCookie(res, config, token);
  return token;
}
function formTokenMatches(req: Request, config: Readonly<Config>): boolean {
  const cookie = readCookie(req, formCookieName(config));
  const sent = field(req, 'csrf');
  return !!cookie && !!sent && TOKEN_RE.test(cookie) && sameSecret(cookie, sent);
}

export async function signedIn(req: Request, config: Readonly<Config>, sessions: StaffSessions): Promise<SessionPrincipal | null> {
  const token = sessionToken(req, config);
  return token === null ? null : sessions.authenticate(token);
}

export const page = (method: 'get' | 'post', path: string, summary: string, responses: Record<number, string>, read: ReadRoute['read']): ReadRoute =>
  ({ method, path, summary, tag: 'console', access: 'public', produces: 'text/html', responses, read });

/** Sign-in, set-password, sign-out and the console's landing page (server-rendered, no scripts). */
export function consoleRoutes(sessions: StaffSessions, limiter: RateLimiter): RouteDef[] {
  return [
    page('get', '/console/login', 'The sign-in form (HTML)', { 200: 'HTML form', 303: 'already signed in: to /console' }, async ({ req, res, config }) => {
      const lang = consoleLang(req, res);
      if (await signedIn(req, config, sessions)) return seeOther(withLang('/console', lang));
      const notice = req.query.done === 'password' ? 'password_set' : req.query.done === 'signed_out' ? 'signed_out' : req.query.ended === '1' ? 'session_ended' : undefined;
      return html(200, renderLogin({ lang, csrf: formToken(req, res, config), notice, sso: config.staff.oidc?.label }));
    }),
    page('post', '/console/login', 'Sign in: fields login, password, csrf → 303 to /console (a session cookie)', {
      303: 'signed in: to /console', 401: 'the same answer for a wrong password, an unknown login, a disabled or locked person (HTML)', 403: 'CSRF token missing or wrong (HTML)', 429: 'too many failed sign-ins from this address (HTML, Retry-After)',
    }, async ({ req, res, db, config }) => {
      const lang = consoleLang(req, res);
      if (!formTokenMatches(req, config)) return html(403, renderForbidden(lang));
      const csrf = formToken(req, res, config);
      const again = (status: number, error: LoginView['error'], login?: string, extra?: Record<string, string>) => html(status, renderLogin({ lang, csrf, login, error, sso: config.staff.oidc?.label }), extra);
      const client = clientSubject(req.ip);
      if (limiter.refuses(client)) return again(429, 'too_many', undefined, { 'retry-after': '60' });
      const login = field(req, 'login')?.slice(0, 200) ?? '';
      const password = field(req, 'password') ?? '';
      if (!login.trim() || !password) return again(422, 'missing', login);
      const outcome = await signIn(db, sessions, config, login, password, client);
      if (!outcome.ok) {
        try {
          await limiter.hit(client);
        } catch (e) {
          const retry = (e as { extra?: { headers?: Record<string, string> } }).extra?.headers?.['retry-after'] ?? '60';
          return again(429, 'too_many', login, { 'retry-after': retry });
        }
        return again(401, 'failed', login);
      }
      setSessionCookie(res, config, outcome.token, outcome.expiresAt);
      clearFormCookie(res, config);
      return seeOther(withLang('/console', lang));
    }),
    page('get', '/console/set-password/{token}', 'Choose a password through the one-time link (HTML)', { 200: 'HTML form', 404: 'link not valid, used or expired (HTML)' }, async ({ req, res, db, config, params }) => {
      const lang = consoleLang(req, res);
      const person = await personOfLink(db, params.token, new Date());
      if (!person) return html(404, renderInvalidLink(lang));
      return html(200, renderSetPassword({ lang, csrf: formToken(req, res, config), token: params.token, name: person.name, minLength: config.staff.minPasswordLength }));
    }),
    page('post', '/console/set-password/{token}', 'Set the password: fields password, confirm, csrf → 303 to the sign-in form', {
      303: 'password set: to /console/login', 403: 'CSRF token missing or wrong (HTML)', 404: 'link not valid, used or expired (HTML)', 422: 'too short, too long or not the same twice (HTML)',
    }, async ({ req, res, db, config, params }) => {
      const lang = consoleLang(req, res);
      if (!formTokenMatches(req, config)) return html(403, renderForbidden(lang));
      const person = await personOfLink(db, params.token, new Date());
      if (!person) return html(404, renderInvalidLink(lang));
      const done = await setPasswordWithLink(db, config, params.token, field(req, 'password') ?? '', field(req, 'confirm') ?? '', new Date());
      if (done.ok) return seeOther(withLang('/console/login?done=password', lang));
      if (done.problem === 'invalid_link') return html(404, renderInvalidLink(lang));
      const view = { lang, csrf: formToken(req, res, config), token: params.token, name: person.name, minLength: config.staff.minPasswordLength, error: done.problem };
      return html(422, renderSetPassword(view));
    }),
    page('post', '/console/logout', 'Sign out: field csrf; the session ends on every instance → 303 to the sign-in form', {
      303: 'to /console/login', 403: 'CSRF token missing or wrong (HTML)',
    }, async ({ req, res, config }) => {
      const lang = consoleLang(req, res);
      const me = await signedIn(req, config, sessions);
      if (!me) {
        clearSessionCookie(res, config);
        return seeOther(withLang('/console/login?ended=1', lang));
      }
      const sent = field(req, 'csrf');
      if (!sent || !sameSecret(sent, me.csrfToken)) return html(403, renderForbidden(lang));
      await sessions.signOut(me);
      clearSessionCookie(res, config);
      return seeOther(withLang('/console/login?done=signed_out', lang));
    }),
    page('get', '/console', 'The console: who is signed in, and sign-out (HTML; signed in)', { 200: 'HTML page', 303: 'not signed in: to /console/login' }, async ({ req, res, config }) => {
      const lang = consoleLang(req, res);
      const me = await signedIn(req, config, sessions);
      if (!me) {
        if (sessionToken(req, config) !== null) clearSessionCookie(res, config);
        return seeOther(withLang(sessionToken(req, config) !== null ? '/console/login?ended=1' : '/console/login', lang));
      }
      const courts = me.allCourts ? 'all' as const : [...me.courts].sort().map((code) => ({ code, name: config.courts.find((c) => c.code === code)?.name ?? code }));
      return html(200, renderConsoleHome({ lang, csrf: me.csrfToken, name: me.person!.name, login: me.person!.login, roles: me.roles, courts }));
    }),
  ];
}
