import type { Queryable } from '../db';

interface Acted {
  actor_type: string;
  actor_id: string;
}

/**
 * The person behind each audit row of a history, so it shows names rather than key ids: a
 * session's actor is `staff:<login>`, a key's is its owner (none for a machine or the system).
 * One query for the whole history.
 */
export async function historyPeople(db: Queryable, rows: readonly Acted[]): Promise<(row: Acted) => { login: string; name: string } | null> {
  const keyIds = [...new Set(rows.filter((r) => r.actor_type === 'api_key').map((r) => r.actor_id))];
  const logins = [...new Set(rows.filter((r) => r.actor_type === 'staff').map((r) => r.actor_id))];
  const byKey = new Map<string, { login: string; name: string }>();
  const byLogin = new Map<string, { login: string; name: string }>();
  if (keyIds.length) {
    const owned = await db('api_keys as k').join('staff as s', 's.id', 'k.owner_staff_id').whereIn('k.public_id', keyIds).select('k.public_id', 's.login', 's.name');
    for (const o of owned as { public_id: string; login: string; name: string }[]) byKey.set(o.public_id, { login: o.login, name: o.name });
  }
  if (logins.length) {
    const people = await db('staff').whereIn('login', logins).select('login', 'name');
    for (const p of people as { login: string; name: string }[]) byLogin.set(p.login, { login: p.login, name: p.name });
  }
  return (row) => (row.actor_type === 'api_key' ? byKey.get(row.actor_id) : row.actor_type === 'staff' ? byLogin.get(row.actor_id) : undefined) ?? null;
}
