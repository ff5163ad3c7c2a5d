import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import type { StaffSessions } from './sessions';
import type { SignIn } from './sign-in';
import { LOGIN_RE, staffActor, type StaffRow } from './staff-store';
import type { SignedInClaims } from './oidc-client';

/** Why a single sign-on was refused (audited; the person is told only that it failed). */
export type OidcFailure = 'no_pending_sign_in' | 'provider_refused' | 'no_login_claim' | 'unknown_login' | 'disabled';

/**
 * A person the identity provider vouched for signs in as the active staff account whose login is
 * the configured claim (compared lowercased, as logins are stored). The session is the same as a
 * password sign-in's. A password lockout does not apply: it stops guessing of the password, and
 * the provider did not need it. An unknown or disabled login is refused and audited.
 */
export async function signInWithClaims(knex: Knex, sessions: StaffSessions, claims: SignedInClaims, loginClaim: string, client: string): Promise<SignIn> {
  const value = claims[loginClaim];
  const wanted = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!wanted) return refuse(knex, 'no_login_claim', null, client, claims.sub);
  const row = LOGIN_RE.test(wanted) ? await knex<StaffRow>('staff').where({ login: wanted }).first() : undefined;
  if (!row) return refuse(knex, 'unknown_login', wanted.slice(0, 64), client, claims.sub);
  if (!row.active) return refuse(knex, 'disabled', row.login, client, claims.sub);
  return knex.transaction(async (tx): Promise<SignIn> => {
    const session = await sessions.start(tx, row.id);
    await recordAudit(tx, { action: 'staff.signed_in', entityType: 'staff', entityId: row.login, after: { client, method: 'oidc', subject: claims.sub.slice(0, 200) } }, staffActor(row.login));
    return { ok: true, token: session.token, login: row.login, expiresAt: session.expiresAt };
  });
}

/** Audits a refused single sign-on (no token, code or claim beyond the login and the provider's subject). */
export async function refuse(knex: Knex, reason: OidcFailure, login: string | null, client: string, subject?: string): Promise<{ ok: false }> {
  const after = { reason, client, method: 'oidc', ...(subject ? { subject: subject.slice(0, 200) } : {}) };
  await knex.transaction((tx) => recordAudit(tx, { action: 'staff.sign_in_failed', entityType: 'staff', entityId: login ?? 'oidc', after }, `anonymous:${client}`));
  return { ok: false };
}
