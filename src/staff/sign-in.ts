import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import type { Queryable } from '../db';
import { endSessionsOf, type StaffSessions } from './sessions';
import { hashPassword, passwordProblem, tokenHash, TOKEN_RE, verifyPassword } from './secrets';
import { LOGIN_RE, staffActor, type StaffRow } from './staff-store';

export type SignIn = { ok: true; token: string; login: string; expiresAt: Date } | { ok: false };

type Failure = 'unknown_login' | 'disabled' | 'locked' | 'no_password' | 'wrong_password';

/**
 * Signs a person in with login and password. Every refusal is the same answer to the caller (no
 * telling an unknown login from a wrong password or a disabled person, in words or in time: the
 * password is always hashed); the audit trail records why, never the password. After
 * staff.maxFailedSignIns failures in a row the login is locked for staff.lockMinutes, the right
 * password included.
 */
export async function signIn(knex: Knex, sessions: StaffSessions, config: Readonly<Config>, login: string, password: string, client: string): Promise<SignIn> {
  const wanted = login.trim().toLowerCase();
  const row = LOGIN_RE.test(wanted) ? await knex<StaffRow>('staff').where({ login: wanted }).first() : undefined;
  const now = new Date(sessions.now());
  const right = await verifyPassword(row?.password_hash ?? null, password);
  const why: Failure | null = !row ? 'unknown_login' : !row.active ? 'disabled' : row.locked_until && row.locked_until > now ? 'locked' : !row.password_hash ? 'no_password' : right ? null : 'wrong_password';
  const anonymous = `anonymous:${client}`;
  return knex.transaction(async (tx): Promise<SignIn> => {
    if (row && why === null) {
      await tx('staff').where({ id: row.id }).update({ failed_attempts: 0, locked_until: null });
      const session = await sessions.start(tx, row.id);
      await recordAudit(tx, { action: 'staff.signed_in', entityType: 'staff', entityId: row.login, after: { client } }, staffActor(row.login));
      return { ok: true, token: session.token, login: row.login, expiresAt: session.expiresAt };
    }
    await recordAudit(tx, { action: 'staff.sign_in_failed', entityType: 'staff', entityId: row?.login ?? wanted.slice(0, 64), after: { reason: why, client } }, anonymous);
    if (row && why === 'wrong_password') {
      const [{ failed_attempts: failures }] = await tx('staff').where({ id: row.id }).increment('failed_attempts', 1).returning('failed_attempts');
      if (failures >= config.staff.maxFailedSignIns) {
        const until = new Date(now.getTime() + config.staff.lockMinutes * 60_000);
        await tx('staff').where({ id: row.id }).update({ failed_attempts: 0, locked_until: until });
        await recordAudit(tx, { action: 'staff.sign_in_locked', entityType: 'staff', entityId: row.login, after: { lockedUntil: until.toISOString(), failures, client } }, anonymous);
      }
    }
    return { ok: false };
  });
}

/** The person a set-password link is for, while it works (an active person, before it expires). */
export async function personOfLink(db: Queryable, token: string, now: Date): Promise<StaffRow | null> {
  if (!TOKEN_RE.test(token)) return null;
  const row = await db<StaffRow>('staff').where({ set_password_token_hash: tokenHash(token), active: true }).where('set_password_expires_at', '>', now).first();
  return row ?? null;
}

export type SetPassword = { ok: true; login: string } | { ok: false; problem: 'invalid_link' | 'too_short' | 'too_long' | 'mismatch' };

/** Sets a person's password through their one-time link: the link is spent, the lock lifted, and any open sessions end. */
export async function setPasswordWithLink(knex: Knex, config: Readonly<Config>, token: string, password: string, confirm: string, now: Date): Promise<SetPassword> {
  const problem = passwordProblem(password, config.staff.minPasswordLength);
  if (problem) return { ok: false, problem };
  if (password !== confirm) return { ok: false, problem: 'mismatch' };
  const hash = await hashPassword(password);
  return knex.transaction(async (tx): Promise<SetPassword> => {
    const row = await personOfLink(tx, token, now);
    if (!row) return { ok: false, problem: 'invalid_link' };
    const spent = await tx('staff')
      .where({ id: row.id, set_password_token_hash: tokenHash(token) })
      .update({ password_hash: hash, set_password_token_hash: null, set_password_expires_at: null, failed_attempts: 0, locked_until: null, updated_at: now });
    if (!Number(spent)) return { ok: false, problem: 'invalid_link' }; // used at the same moment in another tab
    await endSessionsOf(tx, row.id, 'password_set', now);
    await recordAudit(tx, { action: 'staff.password_set', entityType: 'staff', entityId: row.login }, staffActor(row.login));
    return { ok: true, login: row.login };
  });
}
