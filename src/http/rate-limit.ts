import net from 'node:net';
import type { Request } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import { AppError } from '../shared/errors';
import { logger } from '../shared/logger';

export interface LimitSettings {
  max: number;
  windowSeconds: number;
}

export class RateLimitedError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message, 429, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

// One atomic statement counts a hit: a fixed window per bucket and subject, on the database's clock,
// so every instance (and the embedded single-session database, through the same knex) shares it.
const COUNT_HIT = `
  insert into rate_limit_counters as c (bucket, subject, hits, window_ends_at)
  values (?, ?, 1, now() + make_interval(secs => ?))
  on conflict (bucket, subject) do update set
    hits = case when c.window_ends_at <= now() then 1 else least(c.hits + 1, 2147483647) end,
    window_ends_at = case when c.window_ends_at <= now() then excluded.window_ends_at else c.window_ends_at end
  returning hits, ceil(extract(epoch from c.window_ends_at - now()) * 1000)::float8 as ms_left`;
const CLEAN_UP_EVERY_MS = 10 * 60_000;

/**
 * A limit on hits per client within a window, counted in Postgres so that every instance shares
 * it. A subject found over the limit is refused from memory (bounded) until its window ends, so
 * a flood costs the database at most `max + 1` statements per window and instance.
 */
export class RateLimiter {
  private readonly blocked: LRUCache<string, number>;
  private nextCleanUp = 0;

  constructor(
    private readonly knex: Knex,
    private readonly bucket: string,
    private readonly settings: LimitSettings,
    blockedMax: number,
    private readonly message: string,
  ) {
    this.blocked = new LRUCache({ max: blockedMax });
  }

  /** Whether the subject is refused just now (this instance has seen it over the limit), without counting a hit. */
  refuses(subject: string): boolean {
    const until = this.blocked.get(subject);
    return until !== undefined && until > Date.now();
  }

  /** Counts one hit for the subject; over the limit it throws a 429 with Retry-After. */
  async hit(subject: string): Promise<void> {
    const until = this.blocked.get(subject);
    if (until !== undefined && until > Date.now()) throw new RateLimitedError(this.message, Math.ceil((until - Date.now()) / 1000));
    let counted: { hits: number; ms_left: number };
    try {
      counted = (await this.knex.raw(COUNT_HIT, [this.bucket, subject, this.settings.windowSeconds])).rows[0];
    } catch (e) {
      // Fail open: a limit the database cannot count must not turn every answer into an outage.
      logger.warn('rate limit not counted', { bucket: this.bucket, err: (e as Error).message });
      return;
    }
    this.cleanUpNowAndThen();
    if (counted.hits <= this.settings.max) return;
    const ms = Math.max(1000, Number(counted.ms_left));
    if (counted.hits === this.settings.max + 1) logger.warn('rate limit reached', { bucket: this.bucket, subject, windowEndsInS: Math.ceil(ms / 1000) });
    this.blocked.set(subject, Date.now() + ms, { ttl: ms });
    throw new RateLimitedError(this.message, Math.ceil(ms / 1000));
  }

  private cleanUpNowAndThen(): void {
    if (Date.now() < this.nextCleanUp) return;
    this.nextCleanUp = Date.now() + CLEAN_UP_EVERY_MS;
    this.knex('rate_limit_counters')
      .where({ bucket: this.bucket })
      .where('window_ends_at', '<', this.knex.raw('now()'))
      .delete()
      .catch((e: Error) => logger.warn('rate limit counters not cleaned up', { bucket: this.bucket, err: e.message }));
  }
}

/**
 * Who a limit counts: the client address as Express sees it under `http.trustProxy` (the proxy's
 * X-Forwarded-For only when the proxy is trusted). An IPv6 client is counted by its /64, which
 * one subscriber usually holds whole.
 */
export function clientSubject(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (!net.isIPv6(address)) return address;
  const [head, tail] = address.split('%')[0].split('::');
  const groups = (s: string | undefined) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** Failed authentications per client address (a missing, malformed, forged, unknown or revoked key). */
export function authFailureLimiter(knex: Knex, config: Readonly<Config>): RateLimiter {
  return new RateLimiter(knex, 'auth_failure', config.rateLimits.authFailures, config.rateLimits.blockedAddressesMax, 'too many failed authentications from this address; try again later');
}

const pagePostLimiters = new WeakMap<object, RateLimiter>();

/** Counts a litigant page's form post (each may call the processor) per client address; one limiter per app. */
export async function limitPagePosts(req: Request, knex: Knex, config: Readonly<Config>): Promise<void> {
  let limiter = pagePostLimiters.get(req.app);
  if (!limiter) {
    limiter = new RateLimiter(knex, 'page_post', config.rateLimits.pagePosts, config.rateLimits.blockedAddressesMax, 'too many requests from this address; try again in a few minutes');
    pagePostLimiters.set(req.app, limiter);
  }
  await limiter.hit(clientSubject(req.ip));
}
