import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../config';
import type { Lang } from '../pages/i18n';
import { readCookie } from './cookies';
import type { PendingSignIn } from './oidc-client';
import { sameSecret } from './secrets';

/** How long a sign-in at the provider may take before its return is refused. */
const PENDING_MS = 10 * 60_000;

interface Pending extends PendingSignIn {
  lang: Lang;
  exp: number;
}

/**
 * State, nonce and PKCE verifier of a sign-in under way, kept by the browser in a cookie that is
 * HMAC-signed (a key derived from auth.keyChecksumSecret, only for this), expires in ten minutes and
 * is cleared on return. SameSite=Lax, since the provider's redirect back is a cross-site navigation
 * (Strict would not send it); HttpOnly; in production Secure with the __Host- prefix.
 */
export function oidcCookieName(config: Readonly<Config>): string {
  return config.env === 'production' ? '__Host-courtpay_oidc' : 'courtpay_oidc';
}

const signingKey = (config: Readonly<Config>) => Buffer.from(crypto.hkdfSync('sha256', config.auth.keyChecksumSecret, 'courtpay', 'staff oidc state cookie', 32));
const mac = (config: Readonly<Config>, body: string) => crypto.createHmac('sha256', signingKey(config)).update(body).digest('base64url');
const options = (config: Readonly<Config>) => ({ httpOnly: true, secure: config.env === 'production', sameSite: 'lax' as const, path: '/' });

export function setPendingCookie(res: Response, config: Readonly<Config>, pending: PendingSignIn, lang: Lang, now: number): void {
  const body = Buffer.from(JSON.stringify({ ...pending, lang, exp: now + PENDING_MS } satisfies Pending)).toString('base64url');
  res.cookie(oidcCookieName(config), `${body}.${mac(config, body)}`, { ...options(config), maxAge: PENDING_MS });
}

export function clearPendingCookie(res: Response, config: Readonly<Config>): void {
  res.clearCookie(oidcCookieName(config), options(config));
}

/** The sign-in under way that this browser started, or null (none, altered, or expired). */
export function readPendingCookie(req: Request, config: Readonly<Config>, now: number): Pending | null {
  const raw = readCookie(req, oidcCookieName(config));
  const [body, sig, ...rest] = raw?.split('.') ?? [];
  if (!body || !sig || rest.length || !sameSecret(sig, mac(config, body))) return null;
  try {
    const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Pending;
    const strings = [p.state, p.nonce, p.verifier].every((s) => typeof s === 'string' && s.length > 0);
    return strings && typeof p.exp === 'number' && now < p.exp ? { ...p, lang: p.lang === 'en' ? 'en' : 'zh' } : null;
  } catch {
    return null;
  }
}
