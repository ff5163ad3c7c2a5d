import { ForbiddenError, NotFoundError } from '../shared/errors';

export const ROLES = ['case_system', 'clerk', 'approver', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  allCourts: boolean;
  courts: ReadonlySet<string>;
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

export function assertRole(p: Principal, roles: readonly Role[]): void {
  if (!roles.includes(p.role)) throw new ForbiddenError(`role ${p.role} may not do this (needs ${roles.join(' or ')})`, 'role_not_allowed');
}

/** Court codes a list query may cover: null means every court. */
export function courtFilter(p: Principal): string[] | null {
  return p.allCourts ? null : [...p.courts];
}
