import type { Config } from '../config';
import { clientSubject, type RateLimiter } from '../http/rate-limit';
import type { RouteDef } from '../http/route';
import { NotFoundError } from '../shared/errors';
import { logger } from '../shared/logger';
import { consoleLang, formToken, html, page, seeOther, signedIn, withLang } from './console-routes';
import { renderLogin } from './console-views';
import { clearFormCookie, setSessionCookie } from './cookies';
import { OidcRelyingParty } from './oidc-client';
import { refuse, signInWithClaims } from './oidc-sign-in';
import { clearPendingCookie, readPendingCookie, setPendingCookie } from './oidc-state';
import type { StaffSessions } from './sessions';

export const OIDC_CALLBACK_PATH = '/console/login/oidc/callback';

/**
 * Single sign-on through the courts' identity provider (staff.oidc): the sign-in page's button
 * leads to /console/login/oidc, which sends the browser to the provider; the provider sends it back
 * to the callback, which signs the person in as the staff account the login claim names. Without
 * staff.oidc both answer 404, as an unknown route.
 */
export function oidcRoutes(sessions: StaffSessions, limiter: RateLimiter, config: Readonly<Config>): RouteDef[] {
  const settings = config.staff.oidc;
  const rp = settings ? new OidcRelyingParty(settings, new URL(OIDC_CALLBACK_PATH, config.publicBaseUrl).href) : null;
  const notConfigured = () => new NotFoundError('route', 'route_not_found');

  return [
    page('get', '/console/login/oidc', 'Single sign-on: to the identity provider (staff.oidc; 404 without it)', {
      303: 'to the identity provider (or to /console when signed in already)', 503: 'the identity provider cannot be reached (HTML)',
    }, async ({ req, res, config }) => {
      if (!rp) throw notConfigured();
      const lang = consoleLang(req, res);
      if (await signedIn(req, config, sessions)) return seeOther(withLang('/console', lang));
      try {
        const { url, pending } = await rp.start();
        setPendingCookie(res, config, pending, lang, sessions.now());
        return seeOther(url);
      } catch (e) {
        logger.warn('the identity provider could not be reached', { err: (e as Error).message });
        return html(503, renderLogin({ lang, csrf: formToken(req, res, config), error: 'sso_unavailable', sso: rp.label }));
      }
    }),
    page('get', OIDC_CALLBACK_PATH, 'Single sign-on: the identity provider\'s answer → 303 to /console (a session cookie)', {
      303: 'signed in: to /console', 401: 'the same answer as a wrong password: an unknown or disabled login, a wrong or expired state, a refused code (HTML)', 429: 'too many failed sign-ins from this address (HTML)',
    }, async ({ req, res, db, config }) => {
      if (!rp) throw notConfigured();
      const pending = readPendingCookie(req, config, sessions.now());
      clearPendingCookie(res, config);
      const lang = pending?.lang ?? consoleLang(req, res);
      const client = clientSubject(req.ip);
      const refused = (status: number, error: 'failed' | 'too_many') => html(status, renderLogin({ lang, csrf: formToken(req, res, config), error, sso: rp.label }));
      if (limiter.refuses(client)) return refused(429, 'too_many');

      let outcome;
      if (!pending) outcome = await refuse(db, 'no_pending_sign_in', null, client);
      else {
        const claims = await rp.finish(new URL(req.originalUrl, config.publicBaseUrl), pending).catch((e: Error & { code?: string; error?: string }) => {
          logger.warn('single sign-on refused by its checks or the provider', { err: e.message, code: e.code ?? e.error });
          return null;
        });
        outcome = claims ? await signInWithClaims(db, sessions, claims, rp.loginClaim, client) : await refuse(db, 'provider_refused', null, client);
      }
      if (!outcome.ok) {
        try {
          await limiter.hit(client);
        } catch {
          return refused(429, 'too_many');
        }
        return refused(401, 'failed');
      }
      setSessionCookie(res, config, outcome.token, outcome.expiresAt);
      clearFormCookie(res, config);
      return seeOther(withLang('/console', lang));
    }),
  ];
}
