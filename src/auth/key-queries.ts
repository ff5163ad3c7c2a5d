import type { Knex } from 'knex';
import type { KeyChecksum } from './keys';
import type { Principal, Role } from './principal';

export interface ApiKeyRow {
  id: number;
  public_id: string;
  name: string;
  role: Role;
  all_courts: boolean;
  court_codes: string[];
  key_hash: string;
  key_prefix: string;
  checksum_kind: KeyChecksum;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  owner_staff_id: number | null;
}

/** The principal of the active key with this hash, or null for an unknown or revoked one, or one whose owner is disabled. */
export async function findActiveKey(knex: Knex, hash: string): Promise<Principal | null> {
  const row = await knex('api_keys as k')
    .leftJoin('staff as s', 's.id', 'k.owner_staff_id')
    .where({ 'k.key_hash': hash })
    .whereNull('k.revoked_at')
    .where((q) => q.whereNull('k.owner_staff_id').orWhere('s.active', true))
    .first('k.public_id', 'k.name', 'k.role', 'k.all_courts', 'k.court_codes', 's.id as owner_id', 's.login as owner_login', 's.name as owner_name');
  if (!row) return null;
  const person = row.owner_id == null ? null : { staffId: Number(row.owner_id), login: row.owner_login as string, name: row.owner_name as string };
  return { kind: 'api_key', keyId: row.public_id, name: row.name, roles: [row.role as Role], allCourts: row.all_courts, courts: new Set(row.court_codes as string[]), person };
}

/** Hashes of the active keys issued with the unkeyed checksum: a set that only shrinks (no key is issued so now). */
export async function activeLegacyKeyHashes(knex: Knex): Promise<Set<string>> {
  return new Set(await knex('api_keys').where({ checksum_kind: 'sha256' }).whereNull('revoked_at').pluck('key_hash'));
}

export async function recordKeyUse(knex: Knex, hash: string): Promise<void> {
  await knex('api_keys').where({ key_hash: hash }).update({ last_used_at: knex.fn.now() });
}
