import crypto from 'node:crypto';

/**
 * API key format: `cpk_<32 base62 chars>_<6 hex checksum>`. The checksum lets a mistyped or
 * made-up key fail before any database or cache lookup; only the sha256 of the key is stored.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_RE = /^cpk_([A-Za-z0-9]{32})_([0-9a-f]{6})$/;

function checksum(body: string): string {
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

export function generateApiKey(): string {
  const body = randomBase62(32);
  return `cpk_${body}_${checksum(body)}`;
}

export function isWellFormedKey(key: string): boolean {
  const m = KEY_RE.exec(key);
  return !!m && crypto.timingSafeEqual(Buffer.from(m[2]), Buffer.from(checksum(m[1])));
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
