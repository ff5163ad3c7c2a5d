import type { Person, Principal } from './principal';

/**
 * Maker-checker by person. Whoever asked for something (a refund, a staff remission, a large
 * reconciliation resolution) can never decide it, whatever key, role or session they use. A row
 * records its maker twice: the actor (`api_key:key_…`, or `staff:<login>` for a browser session)
 * and the person behind it (the session's, or the key's owner), null for a machine's key.
 */

/** The actor a row records: the key, or for a signed-in session the person (as audit rows name them). */
export function actorOf(p: Principal): string {
  return p.kind === 'session' && p.person ? `staff:${p.person.login}` : `api_key:${p.keyId}`;
}

/** Who did something, as a row keeps it. */
export interface Maker {
  by: string | null;
  staffId: number | null;
}

/**
 * True when the principal is the maker: the same person (two keys of one owner, a key and a
 * session of the person, two sessions), or, when either side has no person, the same actor.
 */
export function isMaker(maker: Maker, p: Principal): boolean {
  if (maker.staffId !== null && p.person && Number(maker.staffId) === p.person.staffId) return true;
  return maker.by !== null && maker.by === actorOf(p);
}

/** A person as rows snapshot them for histories: their name as it was when they acted. */
export type PersonSnapshot = Person;

export function personOf(p: Principal | null | undefined): PersonSnapshot | null {
  return p?.person ? { staffId: p.person.staffId, login: p.person.login, name: p.person.name } : null;
}

/** What a history shows of a person: login and name, never the row id. */
export function shownPerson(s: Partial<PersonSnapshot> | null | undefined): { login: string; name: string } | null {
  return s?.login ? { login: s.login, name: s.name ?? s.login } : null;
}
