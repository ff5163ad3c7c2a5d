import { ForbiddenError, NotFoundError } from '../shared/errors';

export const ROLES = ['case_system', 'clerk', 'approver', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A member of staff the caller acts as: a signed-in person, or the owner of an API key. */
export interface Person {
  staffId: number;
  login: string;
  name: string;
}

export interface Principal {
  /** An API key (a machine, or a key acting for its owner), or a person's browser session. */
  kind: 'api_key' | 'session';
  /** The key's public id (key_…); for a session, the session's own handle (ses_…, not its secret). */
  keyId: string;
  name: string;
  /** A key has one role; a person may hold several, and a route allowed to any of them is allowed. */
  roles: readonly Role[];
  allCourts: boolean;
  courts: ReadonlySet<string>;
  /** The person acting: the session's, or the key's owner; null for a machine's key. */
  person: Person | null;
}

/** Roles and court scope are enforced here and nowhere else. */
export function canSeeCourt(p: Principal, courtCode: string): boolean {
  return p.allCourts || p.courts.has(courtCode);
}

/** For a court the caller names (a body or query field): out of scope is 403. */
export function assertCourtInScope(p: Principal, courtCode: string): void {
  if (!canSeeCourt(p, courtCode)) throw new ForbiddenError(`this key may not act for court ${courtCode}`, 'court_out_of_scope');
}

/** For an entity found by id: out of scope is 404, so existence does not leak. */
export function assertCanSee(p: Principal, courtCode: string, what: string): void {
  if (!canSeeCourt(p, courtCode)) throw new NotFoundError(what);
}

export function hasRole(p: Principal, role: Role): boolean {
  return p.roles.includes(role);
}

export function assertRole(p: Principal, roles: readonly Role[]): void {
  if (!roles.some((r) => hasRole(p, r))) throw new ForbiddenError(`role ${p.roles.join(', ')} may not do this (needs ${roles.join(' or ')})`, 'role_not_allowed');
}

/** Court codes a list query may cover: null means every court. */
export function courtFilter(p: Principal): string[] | null {
  return p.allCourts ? null : [...p.courts];
}
