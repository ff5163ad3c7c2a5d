import crypto from 'node:crypto';

/**
 * API key format: `cpk_<32 base62 chars>_<6 hex checksum>`. The checksum lets a mistyped or
 * made-up key fail before any database or cache lookup; only the sha256 of the key is stored.
 *
 * The checksum is an HMAC under the server's `auth.keyChecksumSecret`, so only this service can
 * make a key that passes it: a forged key costs a hash and nothing else. Keys issued before the
 * checksum was keyed carry the plain sha256 checksum (`legacy`); anyone can compute that one, so
 * such a key is only looked up when its hash is one of the legacy keys the database holds.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_RE = /^cpk_([A-Za-z0-9]{32})_([0-9a-f]{6})$/;

/** Which checksum a key was issued with; stored as api_keys.checksum_kind. */
export type KeyChecksum = 'hmac_sha256' | 'sha256';

function keyedChecksum(body: string, secret: string): string {
  return crypto.createHmac('sha256', secret).update(`courtpay:${body}`).digest('hex').slice(0, 6);
}

/** The unkeyed checksum of keys issued before December 2026: still recognised, never issued. */
export function legacyChecksum(body: string): string {
  return crypto.createHash('sha256').update(`courtpay:${body}`).digest('hex').slice(0, 6);
}

export function randomBase62(length: number): string {
  const out: string[] = [];
  while (out.length < length) {
    for (const b of crypto.randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out.push(ALPHABET[b % 62]); // 248 = 62*4: no modulo bias
    }
  }
  return out.join('');
}

export function generateApiKey(secret: string): string {
  const body = randomBase62(32);
  return `cpk_${body}_${keyedChecksum(body, secret)}`;
}

const same = (a: string, b: string) => crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The checksum a key carries, or null for a typo or a forgery (which then costs no lookup). */
export function keyChecksum(key: string, secret: string): KeyChecksum | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  if (same(m[2], keyedChecksum(m[1], secret))) return 'hmac_sha256';
  if (same(m[2], legacyChecksum(m[1]))) return 'sha256';
  return null;
}

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** What may be shown of a key after creation: enough to recognise it, useless to an attacker. */
export function keyPrefix(key: string): string {
  return key.slice(0, 10);
}

export function publicId(prefix: string): string {
  return `${prefix}_${randomBase62(20)}`;
}
