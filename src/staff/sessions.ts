import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { ApiKeyAuthenticator, CacheFollower } from '../auth/authenticator';
import type { Principal, Role } from '../auth/principal';
import { REVOKE_CHANNEL, STAFF_CHANNEL } from '../auth/revocation-listener';
import type { Config } from '../config';
import type { Queryable } from '../db';
import { logger } from '../shared/logger';
import { recordAudit } from '../audit/record';
import { randomToken, TOKEN_RE, tokenHash } from './secrets';

export type EndReason = 'signed_out' | 'staff_disabled' | 'staff_changed' | 'password_set' | 'idle' | 'expired';

/** A live session as cached: enough to answer a request without the database. */
interface Cached {
  id: string;
  staffId: number;
  login: string;
  name: string;
  roles: Role[];
  allCourts: boolean;
  courts: string[];
  csrfToken: string;
  lastSeenMs: number;
  expiresMs: number;
}

/** A signed-in person's principal, with the session's CSRF token (for the forms it renders). */
export interface SessionPrincipal extends Principal {
  kind: 'session';
  sessionId: string;
  csrfToken: string;
}

/**
 * Every session cache of this process. One that does not listen for notices (the embedded
 * database's, a test's) is told directly after commit; one that listens learns it from the notice,
 * as every other instance does.
 */
const caches = new Set<StaffSessions>();

/**
 * Tells every instance that sessions ended or a person changed (`session:<id>` or `staff:<id>`): the
 * notice goes out when the transaction commits, and this process's caches forget at the same moment
 * (the embedded database has one process and no listener).
 */
export async function announce(tx: Knex.Transaction, payload: string): Promise<void> {
  await tx.raw('select pg_notify(?, ?)', [STAFF_CHANNEL, payload]);
  tx.executionPromise.then(() => caches.forEach((c) => c.listens || c.sessionsEnded(payload)), () => undefined);
}

/**
 * A disabled person's API keys are refused from now on (findActiveKey checks the owner): every
 * instance forgets them through the keys' own revocation notice, this process at commit.
 */
export async function forgetOwnedKeys(tx: Knex.Transaction, staffId: number): Promise<void> {
  const hashes: string[] = await tx('api_keys').where({ owner_staff_id: staffId }).whereNull('revoked_at').pluck('key_hash');
  for (const hash of hashes) await tx.raw('select pg_notify(?, ?)', [REVOKE_CHANNEL, hash]);
  tx.executionPromise.then(() => caches.forEach((c) => c.listens || hashes.forEach((h) => c.forgetKey(h))), () => undefined);
}

/** Ends a person's open sessions (disabled, or a new password), announced to every instance. */
export async function endSessionsOf(tx: Knex.Transaction, staffId: number, reason: EndReason, at: Date): Promise<number> {
  const ended = await tx('staff_sessions').where({ staff_id: staffId }).whereNull('ended_at').update({ ended_at: at, ended_reason: reason });
  await announce(tx, `staff:${staffId}`);
  return Number(ended);
}

export interface SessionSettings {
  idleMs: number;
  maxMs: number;
  cacheMax: number;
  cacheTtlMs: number;
}

export function sessionSettings(config: Readonly<Config>): SessionSettings {
  return {
    idleMs: config.staff.sessionIdleMinutes * 60_000,
    maxMs: config.staff.sessionMaxHours * 3600_000,
    cacheMax: config.staff.sessionCacheMax,
    cacheTtlMs: config.staff.sessionCacheTtlMs,
  };
}

const LOAD = `
  select ss.id, ss.staff_id, ss.csrf_token, ss.last_seen_at, ss.expires_at,
         s.login, s.name, s.roles, s.all_courts, s.court_codes
    from staff_sessions ss join staff s on s.id = ss.staff_id
   where ss.id = ? and ss.ended_at is null and s.active`;

/**
 * Staff sessions, stored in Postgres and cached per instance in a bounded LRU for a short while, so
 * a request costs no database round trip. Ending a session or changing a person is announced on
 * the revocation listener's staff channel and forgotten by every instance at once; while that
 * listener is lost nothing cached is trusted (as for API keys). Times come from `now`, so tests can
 * move the clock.
 */
export class StaffSessions implements CacheFollower {
  private readonly cache: LRUCache<string, Cached>;
  private epoch = 0;

  constructor(
    private readonly knex: Knex,
    private readonly settings: SessionSettings,
    private readonly authenticator: ApiKeyAuthenticator,
    readonly now: () => number = Date.now,
  ) {
    this.cache = new LRUCache({ max: settings.cacheMax, ttl: settings.cacheTtlMs });
    authenticator.follow(this);
    caches.add(this);
  }

  get listens(): boolean {
    return this.authenticator.listens;
  }

  get cachedCount(): number {
    return this.cache.size;
  }

  /** Starts a session for a person (in the sign-in's transaction): the cookie's token, and the CSRF token of its forms. */
  async start(tx: Queryable, staffId: number): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = randomToken();
    const csrfToken = randomToken();
    const now = new Date(this.now());
    const expiresAt = new Date(now.getTime() + this.settings.maxMs);
    await tx('staff_sessions').insert({ id: tokenHash(token), staff_id: staffId, csrf_token: csrfToken, created_at: now, last_seen_at: now, expires_at: expiresAt });
    return { token, csrfToken, expiresAt };
  }

  /** The principal of a live session's cookie token, or null (garbage, unknown, ended, idle, expired, or a disabled person). */
  async authenticate(token: string): Promise<SessionPrincipal | null> {
    if (!TOKEN_RE.test(token)) return null;
    const id = tokenHash(token);
    const trusted = this.authenticator.trustsCache;
    let s = trusted ? this.cache.get(id) : undefined;
    const fromCache = s !== undefined;
    s ??= await this.load(id);
    if (!s) return null;
    const now = this.now();
    if (now >= s.expiresMs) return this.expire(s, 'expired');
    if (now >= s.lastSeenMs + this.settings.idleMs) {
      // Another instance may have served the person since this one cached the session.
      const fresh = fromCache ? await this.load(id) : s;
      if (!fresh || now >= fresh.lastSeenMs + this.settings.idleMs) return fresh ? this.expire(fresh, 'idle') : null;
      s = fresh;
    }
    this.touch(s, now);
    return {
      kind: 'session',
      keyId: `ses_${s.id.slice(0, 20)}`,
      name: s.name,
      roles: s.roles,
      allCourts: s.allCourts,
      courts: new Set(s.courts),
      person: { staffId: s.staffId, login: s.login, name: s.name },
      sessionId: s.id,
      csrfToken: s.csrfToken,
    };
  }

  /** Sign-out: the session ends on every instance at once, audited with the person as actor. */
  async signOut(p: SessionPrincipal): Promise<void> {
    await this.knex.transaction(async (tx) => {
      const n = await tx('staff_sessions').where({ id: p.sessionId }).whereNull('ended_at').update({ ended_at: new Date(this.now()), ended_reason: 'signed_out' });
      if (Number(n) > 0) await recordAudit(tx, { action: 'staff.signed_out', entityType: 'staff', entityId: p.person!.login }, `staff:${p.person!.login}`);
      await announce(tx, `session:${p.sessionId}`);
    });
    this.sessionsEnded(`session:${p.sessionId}`); // this instance at once; the others by the notice
  }

  /** A notice from the listener (or this process): forget the session, or every session of the person. */
  sessionsEnded(payload: string): void {
    this.epoch += 1;
    const [kind, value] = [payload.slice(0, payload.indexOf(':')), payload.slice(payload.indexOf(':') + 1)];
    if (kind === 'session') this.cache.delete(value);
    else if (kind === 'staff') {
      for (const [id, s] of this.cache.entries()) if (String(s.staffId) === value) this.cache.delete(id);
    }
  }

  forgetKey(hash: string): void {
    this.authenticator.forget(hash);
  }

  clear(): void {
    this.epoch += 1;
    this.cache.clear();
  }

  private async load(id: string): Promise<Cached | undefined> {
    const epoch = this.epoch;
    const row = (await this.knex.raw(LOAD, [id])).rows[0];
    if (!row) return undefined;
    const s: Cached = {
      id: row.id,
      staffId: Number(row.staff_id),
      login: row.login,
      name: row.name,
      roles: row.roles,
      allCourts: row.all_courts,
      courts: row.court_codes,
      csrfToken: row.csrf_token,
      lastSeenMs: new Date(row.last_seen_at).getTime(),
      expiresMs: new Date(row.expires_at).getTime(),
    };
    if (epoch === this.epoch && this.authenticator.trustsCache) this.cache.set(id, s);
    return s;
  }

  /** Records use now and then (not on every request): the idle timeout is as exact as a tenth of itself, at most a minute. */
  private touch(s: Cached, now: number): void {
    if (now - s.lastSeenMs < Math.min(60_000, this.settings.idleMs / 10)) return;
    s.lastSeenMs = now;
    this.knex('staff_sessions')
      .where({ id: s.id })
      .whereNull('ended_at')
      .update({ last_seen_at: this.knex.raw('greatest(last_seen_at, ?)', [new Date(now)]) })
      .catch((e: Error) => logger.warn('could not record staff session use', { err: e.message }));
  }

  private async expire(s: Cached, reason: 'idle' | 'expired'): Promise<null> {
    this.cache.delete(s.id);
    await this.knex('staff_sessions').where({ id: s.id }).whereNull('ended_at').update({ ended_at: new Date(this.now()), ended_reason: reason });
    return null;
  }
}
