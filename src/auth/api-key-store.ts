import type { Queryable } from '../db';
import { generateApiKey, hashKey, keyPrefix, publicId } from './keys';
import type { ApiKeyRow } from './key-queries';
import type { Role } from './principal';
import { REVOKE_CHANNEL } from './revocation-listener';
import { recordAudit } from '../audit/record';
import { NotFoundError, ValidationError } from '../shared/errors';

export { ApiKeyAuthenticator, type AuthenticatorSettings } from './authenticator';

/** What issuing a key needs from the configuration: the secret its checksum is keyed with. */
export interface KeyIssuing {
  keyChecksumSecret: string;
}

export interface CreateKeyInput {
  role: Role;
  courts: string[] | 'all';
  name: string;
  /** The login of the person the key acts for; none for a machine. */
  owner?: string;
}

export async function createApiKey(db: Queryable, issuing: KeyIssuing, input: CreateKeyInput, actor = 'operator:cli'): Promise<{ id: string; key: string }> {
  const key = generateApiKey(issuing.keyChecksumSecret);
  return db.transaction(async (tx) => {
    if (input.courts !== 'all') {
      const known = await tx('courts').whereIn('code', input.courts).pluck('code');
      const unknown = input.courts.filter((c) => !known.includes(c));
      if (unknown.length) throw ValidationError.field('courts', `unknown court(s): ${unknown.join(', ')}`, 'unknown_court');
    }
    const owner = input.owner === undefined ? null : await tx('staff').where({ login: input.owner.toLowerCase(), active: true }).first('id');
    if (input.owner !== undefined && !owner) throw ValidationError.field('owner', `no active member of staff has the login ${input.owner}`, 'unknown_staff');
    const [row] = await tx('api_keys')
      .insert({
        public_id: publicId('key'),
        name: input.name,
        role: input.role,
        all_courts: input.courts === 'all',
        court_codes: input.courts === 'all' ? [] : input.courts,
        key_hash: hashKey(key),
        key_prefix: keyPrefix(key),
        checksum_kind: 'hmac_sha256',
        owner_staff_id: owner?.id ?? null,
      })
      .returning(['public_id', 'name', 'role', 'all_courts', 'court_codes']);
    await recordAudit(tx, { action: 'api_key.created', entityType: 'api_key', entityId: row.public_id, after: { ...row, owner: owner ? input.owner!.toLowerCase() : null } }, actor);
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
  return db('api_keys').select('public_id', 'name', 'role', 'all_courts', 'court_codes', 'key_prefix', 'checksum_kind', 'created_at', 'revoked_at', 'last_used_at', 'owner_staff_id').orderBy('id');
}
