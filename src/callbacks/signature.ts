import crypto from 'node:crypto';

/**
 * `Courtpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one v1 per
 * active secret (during a rotation the old and the new secret both sign), as Stripe does.
 */
export function signatureHeader(secrets: readonly string[], body: string, unixSeconds: number): string {
  const sigs = secrets.map((s) => `v1=${hmac(s, `${unixSeconds}.${body}`)}`);
  return [`t=${unixSeconds}`, ...sigs].join(',');
}

/** The receiver's check (the README's recipe): any v1 matching our secret, and a recent t. */
export function verifySignature(secret: string, header: string, rawBody: string, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, `${t}.${rawBody}`));
  return parts.some(([k, v]) => k === 'v1' && v?.length === expected.length && crypto.timingSafeEqual(Buffer.from(v), expected));
}

function hmac(secret: string, text: string): string {
  return crypto.createHmac('sha256', secret).update(text).digest('hex');
}
