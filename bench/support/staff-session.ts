import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { ApiKeyAuthenticator } from '../../src/auth/api-key-store';
import type { Config } from '../../src/config';
import { sessionCookieName } from '../../src/staff/cookies';
import { linkSettings } from '../../src/staff/manage';
import { hashPassword } from '../../src/staff/secrets';
import { sessionSettings, StaffSessions } from '../../src/staff/sessions';
import { signIn } from '../../src/staff/sign-in';
import { createStaff } from '../../src/staff/staff-store';

/**
 * A person signed in as the console signs them in (createStaff, then signIn with the password):
 * the Cookie header a browser would send, and the session's token for the lookup measurements.
 */
export async function signedInPerson(knex: Knex, config: Readonly<Config>): Promise<{ cookie: string; token: string; login: string }> {
  const login = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  await knex.transaction((tx) => createStaff(tx, linkSettings(config), null, { login, name: '压测财务', roles: ['finance'], courts: 'all' }, { passwordHash, actor: 'system:bench' }));
  const authenticator = new ApiKeyAuthenticator(knex, config.auth);
  const signedIn = await signIn(knex, new StaffSessions(knex, sessionSettings(config), authenticator), config, login, password, 'bench');
  await authenticator.close();
  if (!signedIn.ok) throw new Error(`could not sign ${login} in`);
  return { cookie: `${sessionCookieName(config)}=${signedIn.token}`, token: signedIn.token, login };
}

export interface LookupCosts {
  sessionCachedUs: number;
  sessionDatabaseUs: number;
  keyCachedUs: number;
}

async function microsPerCall(n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await call();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Number(process.hrtime.bigint() - started) / 1e3 / n;
}

/**
 * One request's authentication, timed on its own, one call after another: a session found in the
 * cache (what the service does while the revocation listener is up), the same session loaded from
 * the database each time (the cache emptied before every call: the round trip the cache saves),
 * and an API key from its cache. The caches follow the same listener as the service's.
 */
export async function lookupCosts(knex: Knex, config: Readonly<Config>, token: string, key: string): Promise<LookupCosts> {
  const authenticator = new ApiKeyAuthenticator(knex, config.auth);
  await authenticator.listen(config.db.url!);
  try {
    const sessions = new StaffSessions(knex, sessionSettings(config), authenticator);
    const found = async () => {
      if (!(await sessions.authenticate(token))) throw new Error('the bench session was refused');
    };
    await found();
    if (sessions.cachedCount !== 1) throw new Error('the bench session was not cached (is the revocation listener up?)');
    const sessionCachedUs = await microsPerCall(20_000, found);
    const sessionDatabaseUs = await microsPerCall(2_000, async () => {
      sessions.clear();
      await found();
    });
    const keyCachedUs = await microsPerCall(20_000, async () => {
      if (!(await authenticator.authenticate(key))) throw new Error('the bench key was refused');
    });
    return { sessionCachedUs, sessionDatabaseUs, keyCachedUs };
  } finally {
    await authenticator.close();
  }
}

/** Index and sequential scans of a table so far, as Postgres counts them (its statistics lag up to a second). */
export async function tableReads(knex: Knex, table: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_500));
  await knex.raw('select pg_stat_clear_snapshot()');
  const row = (await knex.raw('select coalesce(idx_scan, 0) + coalesce(seq_scan, 0) as n from pg_stat_user_tables where relname = ?', [table])).rows[0];
  return Number(row?.n ?? 0);
}
