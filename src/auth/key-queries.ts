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
}

/** The principal of the active key with this hash, or null for an unknown or revoked one. */
export async function findActiveKey(knex: Knex, hash: string): Promise<Principal | null> {
  const row = await knex<ApiKeyRow>('api_keys').where({ key_hash: hash }).whereNull('revoked_at').first('public_id', 'name', 'role', 'all_courts', 'court_codes');
  return row ? { keyId: row.public_id, name: row.name, role: row.role, allCourts: row.all_courts, courts: new Set(row.court_codes) } : null;
}

/** Hashes of the active keys issued with the unkeyed checksum: a set that only shrinks (no key is issued so now). */
export async function activeLegacyKeyHashes(knex: Knex): Promise<Set<string>> {
  return new Set(await knex('api_keys').where({ checksum_kind: 'sha256' }).whereNull('revoked_at').pluck('key_hash'));
}

export async function recordKeyUse(knex: Knex, hash: string): Promise<void> {
  await knex('api_keys').where({ key_hash: hash }).update({ last_used_at: knex.fn.now() });
}
