import type { Knex } from 'knex';
import pg from 'pg';
import type { Queryable } from '../db';
import { logger } from '../shared/logger';
import { generateApiKey, hashKey, isWellFormedKey, keyPrefix, publicId } from './keys';
import type { Principal, Role } from './principal';
import { recordAudit } from '../audit/record';
import { NotFoundError, ValidationError } from '../shared/errors';

const REVOKE_CHANNEL = 'courtpay_api_key_revoked';
const LAST_USED_EVERY_MS = 60_000;

interface ApiKeyRow {
  id: number;
  public_id: string;
  name: string;
  role: Role;
  all_courts: boolean;
  court_codes: string[];
  key_hash: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface CreateKeyInput {
  role: Role;
  courts: string[] | 'all';
  name: string;
}

export async function createApiKey(db: Queryable, input: CreateKeyInput, actor = 'operator:cli'): Promise<{ id: string; key: string }> {
  const key = generateApiKey();
  return db.transaction(async (tx) => {
    if (input.courts !== 'all') {
      const known = await tx('courts').whereIn('code', input.courts).pluck('code');
      const unknown = input.courts.filter((c) => !known.includes(c));
      if (unknown.length) throw ValidationError.field('courts', `unknown court(s): ${unknown.join(', ')}`, 'unknown_court');
    }
    const [row] = await tx('api_keys')
      .insert({
        public_id: publicId('key'),
        name: input.name,
        role: input.role,
        all_courts: input.courts === 'all',
        court_codes: input.courts === 'all' ? [] : input.courts,
        key_hash: hashKey(key),
        key_prefix: keyPrefix(key),
      })
      .returning(['public_id', 'name', 'role', 'all_courts', 'court_codes']);
    await recordAudit(tx, { action: 'api_key.created', entityType: 'api_key', entityId: row.public_id, after: row }, actor);
    return { id: row.public_id as string, key };
  });
}

export async function revokeApiKey(db: Queryable, id: string, actor = 'operator:cli'): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx('api_keys').where({ public_id: id }).whereNull('revoked_at').update({ revoked_at: tx.fn.now() }).returning(['public_id', 'key_hash', 'revoked_at']);
    if (!row) throw new NotFoundError(`active API key ${id}`);
    await recordAudit(tx, { action: 'api_key.revoked', entityType: 'api_key', entityId: id, after: { revokedAt: row.revoked_at } }, actor);
    await tx.raw('select pg_notify(?, ?)', [REVOKE_CHANNEL, row.key_hash]);
  });
}

export async function listApiKeys(db: Queryable): Promise<Omit<ApiKeyRow, 'key_hash' | 'id'>[]> {
  return db('api_keys').select('public_id', 'name', 'role', 'all_courts', 'court_codes', 'key_prefix', 'created_at', 'revoked_at', 'last_used_at').orderBy('id');
}

/**
 * Resolves bearer keys to principals without a database round trip on the hot path: a short-lived
 * in-process cache by key hash; revocation reaches every instance at once through LISTEN/NOTIFY.
 */
export class ApiKeyAuthenticator {
  private cache = new Map<string, { principal: Principal | null; expires: number; lastUsedWritten: number }>();
  private listener: pg.Client | null = null;

  constructor(
    private readonly knex: Knex,
    private readonly ttlMs: number,
  ) {}

  async authenticate(key: string): Promise<Principal | null> {
    if (!isWellFormedKey(key)) return null;
    const hash = hashKey(key);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expires <= now) {
      const row = await this.knex<ApiKeyRow>('api_keys').where({ key_hash: hash }).whereNull('revoked_at').first();
      entry = { principal: row ? toPrincipal(row) : null, expires: now + this.ttlMs, lastUsedWritten: entry?.lastUsedWritten ?? 0 };
      this.cache.set(hash, entry);
    }
    if (entry.principal && now - entry.lastUsedWritten > LAST_USED_EVERY_MS) {
      entry.lastUsedWritten = now;
      this.knex('api_keys')
        .where({ key_hash: hash })
        .update({ last_used_at: this.knex.fn.now() })
        .catch((e: Error) => logger.warn('could not record api key use', { err: e.message }));
    }
    return entry.principal;
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }

  /** Listens for revocations on a dedicated connection (not for the embedded single-session database). */
  async listen(connectionString: string): Promise<void> {
    const client = new pg.Client({ connectionString });
    client.on('error', (e) => logger.warn('api key revocation listener failed; relying on cache expiry', { err: e.message }));
    await client.connect();
    client.on('notification', (n) => {
      if (n.channel === REVOKE_CHANNEL && n.payload) this.forget(n.payload);
    });
    await client.query(`listen ${REVOKE_CHANNEL}`);
    this.listener = client;
  }

  async close(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }
}

function toPrincipal(row: ApiKeyRow): Principal {
  return { keyId: row.public_id, name: row.name, role: row.role, allCourts: row.all_courts, courts: new Set(row.court_codes) };
}
