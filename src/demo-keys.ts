import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createApiKey, type KeyIssuing } from './auth/api-key-store';
import { hashKey } from './auth/keys';
import { ROLES, type Role } from './auth/principal';

/**
 * Development on the embedded database only: one key per role for every court, made on the first
 * start and kept beside the data folder so later starts can show them again. Never in production.
 */
export async function ensureDemoKeys(knex: Knex, dataDir: string, issuing: KeyIssuing): Promise<Record<Role, string>> {
  const file = path.join(path.dirname(path.resolve(dataDir)), 'demo-keys.json');
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<Role, string>;
    const live = await knex('api_keys').whereIn('key_hash', Object.values(saved).map(hashKey)).whereNull('revoked_at').count<{ count: string }[]>('id as count');
    if (Number(live[0].count) === ROLES.length) return saved;
  }
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) keys[role] = (await createApiKey(knex, issuing, { role, courts: 'all', name: `demo ${role}` }, 'system:demo-seed')).key;
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
