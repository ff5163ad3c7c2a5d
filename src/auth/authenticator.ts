import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { logger } from '../shared/logger';
import { activeLegacyKeyHashes, findActiveKey, recordKeyUse } from './key-queries';
import { hashKey, keyChecksum } from './keys';
import type { Principal } from './principal';
import { RevocationListener, type ReconnectSettings } from './revocation-listener';

const LAST_USED_EVERY_MS = 60_000;

/** Another cache that relies on the same revocation listener (staff sessions): told what it must forget. */
export interface CacheFollower {
  sessionsEnded(payload: string): void;
  /** Anything cached may be stale (the listener came back, or was lost). */
  clear(): void;
}

export interface AuthenticatorSettings extends ReconnectSettings {
  keyChecksumSecret: string;
  keyCacheTtlMs: number;
  keyCacheMax: number;
  negativeKeyCacheTtlMs: number;
  negativeKeyCacheMax: number;
}

/**
 * Resolves bearer keys to principals without a database round trip on the hot path. A key whose
 * checksum fails (a typo, or a forgery: the checksum is keyed) costs nothing. Known keys are
 * cached by hash in a bounded LRU for a short while, unknown or revoked ones more briefly in a
 * smaller one; revocation reaches every instance at once through LISTEN/NOTIFY, and while that
 * connection is lost nothing cached is trusted: every key is checked in the database.
 */
export class ApiKeyAuthenticator {
  private readonly known: LRUCache<string, Principal>;
  private readonly unknown: LRUCache<string, true>;
  private readonly lastUsed: LRUCache<string, true>;
  private listener: RevocationListener | null = null;
  /** Bumped whenever cached answers may be stale, so a lookup begun before never stores its answer. */
  private epoch = 0;
  private legacy: Promise<Set<string>> | null = null;
  private readonly followers = new Set<CacheFollower>();

  constructor(
    private readonly knex: Knex,
    private readonly settings: AuthenticatorSettings,
  ) {
    this.known = new LRUCache({ max: settings.keyCacheMax, ttl: Math.max(1, settings.keyCacheTtlMs) });
    this.unknown = new LRUCache({ max: settings.negativeKeyCacheMax, ttl: Math.max(1, settings.negativeKeyCacheTtlMs) });
    this.lastUsed = new LRUCache({ max: settings.keyCacheMax, ttl: LAST_USED_EVERY_MS });
  }

  /** The cache is trusted unless revocations are listened for and that connection is lost. */
  get trustsCache(): boolean {
    return !this.listener || this.listener.listening;
  }

  /** Whether revocations reach this instance through LISTEN (else, on the embedded database, only from this process). */
  get listens(): boolean {
    return this.listener !== null;
  }

  /** How many keys are cached, known and unknown (each bounded by its setting). */
  cacheSizes(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }

  async authenticate(key: string): Promise<Principal | null> {
    const checksum = keyChecksum(key, this.settings.keyChecksumSecret);
    if (!checksum) return null;
    const hash = hashKey(key);
    if (checksum === 'sha256' && !(await this.legacyKeys()).has(hash)) return null;
    const trusted = this.trustsCache;
    let principal = trusted ? this.known.get(hash) : undefined;
    if (!principal) {
      if (trusted && this.unknown.has(hash)) return null;
      const epoch = this.epoch;
      principal = (await findActiveKey(this.knex, hash)) ?? undefined;
      if (epoch === this.epoch && this.trustsCache) {
        if (principal) this.known.set(hash, principal);
        else this.unknown.set(hash, true);
      }
    }
    if (principal && !this.lastUsed.has(hash)) {
      this.lastUsed.set(hash, true);
      recordKeyUse(this.knex, hash).catch((e: Error) => logger.warn('could not record api key use', { err: e.message }));
    }
    return principal ?? null;
  }

  /** A cache trusted only while this one is, and cleared with it; revocation notices of its kind are passed on. */
  follow(follower: CacheFollower): void {
    this.followers.add(follower);
  }

  forget(hash: string): void {
    this.epoch += 1;
    this.known.delete(hash);
    void this.legacy?.then((set) => set.delete(hash), () => undefined);
  }

  /**
   * The active keys with the unkeyed checksum, read once (and again after the listener comes
   * back): anyone can compute that checksum, so only these hashes are ever looked up for it.
   */
  private legacyKeys(): Promise<Set<string>> {
    if (!this.legacy) {
      const loading = activeLegacyKeyHashes(this.knex);
      loading.catch(() => {
        if (this.legacy === loading) this.legacy = null; // the next legacy key tries again
      });
      this.legacy = loading;
    }
    return this.legacy;
  }

  /** Listens for revocations on a dedicated connection (not for the embedded single-session database). */
  async listen(connectionString: string): Promise<void> {
    await this.listener?.close();
    this.listener = new RevocationListener(connectionString, this.settings, {
      revoked: (hash) => this.forget(hash),
      sessionsEnded: (payload) => this.followers.forEach((f) => f.sessionsEnded(payload)),
      listening: () => this.clear(),
      lost: () => this.clear(),
    });
    await this.listener.start();
  }

  private clear(): void {
    this.epoch += 1;
    this.known.clear();
    this.unknown.clear();
    this.legacy = null;
    this.followers.forEach((f) => f.clear());
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
  }
}
