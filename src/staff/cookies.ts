import type { CookieOptions, Request, Response } from 'express';
import type { Config } from '../config';

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on another site's
 * posts), path /, and in production Secure with the __Host- prefix (only over https, never set for
 * a parent domain). The form cookie carries the CSRF token of the forms shown before sign-in.
 */
export function sessionCookieName(config: Readonly<Config>): string {
  return config.env === 'production' ? '__Host-courtpay_session' : 'courtpay_session';
}
export function formCookieName(config: Readonly<Config>): string {
  return config.env === 'production' ? '__Host-courtpay_form' : 'courtpay_form';
}

function options(config: Readonly<Config>, sameSite: 'lax' | 'strict'): CookieOptions {
  return { httpOnly: true, secure: config.env === 'production', sameSite, path: '/' };
}

/** One cookie's value from the Cookie header, or null (the first of that name wins, as browsers send the most specific first). */
export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== name) continue;
    const raw = part.slice(i + 1).trim();
    const value = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // not a token we made: refused as such
    }
  }
  return null;
}

export function sessionToken(req: Request, config: Readonly<Config>): string | null {
  return readCookie(req, sessionCookieName(config));
}

export function setSessionCookie(res: Response, config: Readonly<Config>, token: string, expiresAt: Date): void {
  res.cookie(sessionCookieName(config), token, { ...options(config, 'lax'), expires: expiresAt });
}

export function clearSessionCookie(res: Response, config: Readonly<Config>): void {
  res.clearCookie(sessionCookieName(config), options(config, 'lax'));
}

export function setFormCookie(res: Response, config: Readonly<Config>, token: string): void {
  res.cookie(formCookieName(config), token, options(config, 'strict'));
}

export function clearFormCookie(res: Response, config: Readonly<Config>): void {
  res.clearCookie(formCookieName(config), options(config, 'strict'));
}
