import crypto from 'node:crypto';

/**
 * `Courtpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one v1 per
 * active secret (during a rotation the old and the new secret both sign), as Stripe does.
 */
export function signatureHeader(secrets: readonly string[], body: string, unixSeconds: number): string {
  let header = `t=${unixSeconds}`;
  for (const s of secrets) header += `,v1=${hmac(s, `${unixSeconds}.`, body)}`;
  return header;
}

// A key object per secret: the worker signs every message with the same few secrets.
const keys = new Map<string, crypto.KeyObject>();
function keyOf(secret: string): crypto.KeyObject {
  let k = keys.get(secret);
  if (!k) {
    if (keys.size >= 1000) keys.clear();
    keys.set(secret, (k = crypto.createSecretKey(Buffer.from(secret, 'utf8'))));
  }
  return k;
}

/** HMAC-SHA256 of prefix + body, hex, without building the concatenated string. */
function hmac(secret: string, prefix: string, body: string): string {
  return crypto.createHmac('sha256', keyOf(secret)).update(prefix).update(body).digest('hex');
}
