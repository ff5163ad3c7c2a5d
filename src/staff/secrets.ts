import crypto from 'node:crypto';
import argon2 from 'argon2';

/**
 * Passwords are hashed with argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane), so a
 * stolen table costs an attacker that much per guess. Passwords are never logged or audited.
 */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Bytes accepted in a password: generous for passphrases, bounded so a huge one cannot cost the hash. */
export const MAX_PASSWORD_BYTES = 1024;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2);
}

let dummy: Promise<string> | null = null;

/**
 * True only for the right password of a set hash. With no hash (an unknown login, a password never
 * set) a dummy hash is verified anyway, so the answer takes as long either way (no enumeration by timing).
 */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return false;
  if (!hash) {
    dummy ??= hashPassword(crypto.randomBytes(16).toString('hex'));
    await argon2.verify(await dummy, password).catch(() => false);
    return false;
  }
  return argon2.verify(hash, password).catch(() => false);
}

/** Why a new password is refused, or null: long enough, not too long. */
export function passwordProblem(password: string, minLength: number): 'too_short' | 'too_long' | null {
  if ([...password].length < minLength) return 'too_short';
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return 'too_long';
  return null;
}

/** A random token for a cookie or a link (32 bytes, base64url: 43 characters). */
export function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** What is stored of a token: its sha256, so the table alone lets nobody in. */
export function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
