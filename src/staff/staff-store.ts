import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import type { Principal, Role } from '../auth/principal';
import type { Queryable } from '../db';
import { ForbiddenError, NotFoundError, PG, pgCode, ValidationError, ConflictError } from '../shared/errors';
import { randomToken, tokenHash } from './secrets';

export const STAFF_ROLES = ['clerk', 'approver', 'finance', 'admin'] as const satisfies readonly Role[];
export type StaffRole = (typeof STAFF_ROLES)[number];
export const LOGIN_RE = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export interface StaffRow {
  id: number;
  login: string;
  name: string;
  roles: StaffRole[];
  all_courts: boolean;
  court_codes: string[];
  active: boolean;
  password_hash: string | null;
  set_password_token_hash: string | null;
  set_password_expires_at: Date | null;
  failed_attempts: number;
  locked_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A person as the API shows them: never the password hash, the link's hash or the row id. */
export interface StaffView {
  login: string;
  name: string;
  roles: StaffRole[];
  courts: string[] | 'all';
  active: boolean;
  passwordSet: boolean;
  lockedUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

export function presentStaff(r: StaffRow): StaffView {
  return {
    login: r.login,
    name: r.name,
    roles: r.roles,
    courts: r.all_courts ? 'all' : r.court_codes,
    active: r.active,
    passwordSet: r.password_hash !== null,
    lockedUntil: r.locked_until && r.locked_until > new Date() ? r.locked_until.toISOString() : null,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export const staffActor = (login: string) => `staff:${login}`;

/** A court-scoped admin manages only people every one of whose courts it covers (never an all-courts person). */
export function manages(p: Principal, r: Pick<StaffRow, 'all_courts' | 'court_codes'>): boolean {
  return p.allCourts || (!r.all_courts && r.court_codes.every((c) => p.courts.has(c)));
}

function assertManages(p: Principal | null, courts: string[] | 'all'): void {
  if (!p) return; // the operator's command line
  if (!manages(p, { all_courts: courts === 'all', court_codes: courts === 'all' ? [] : courts })) {
    throw new ForbiddenError('this key may manage only staff within its own courts', 'court_out_of_scope');
  }
}

async function assertKnownCourts(tx: Queryable, courts: string[] | 'all'): Promise<void> {
  if (courts === 'all') return;
  const known = await tx('courts').whereIn('code', courts).pluck('code');
  const unknown = courts.filter((c) => !known.includes(c));
  if (unknown.length) throw ValidationError.field('courts', `unknown court(s): ${unknown.join(', ')}`, 'unknown_court');
}

export interface StaffInput {
  login: string;
  name: string;
  roles: StaffRole[];
  courts: string[] | 'all';
}

/** The one-time link for choosing a password: only its hash is kept, until it is used or expires. */
export interface SetPasswordLink {
  token: string;
  url: string;
  expiresAt: Date;
}

function newLink(publicBaseUrl: string, hours: number, now: Date): SetPasswordLink {
  const token = randomToken();
  return { token, url: `${publicBaseUrl.replace(/\/$/, '')}/console/set-password/${token}`, expiresAt: new Date(now.getTime() + hours * 3600_000) };
}

export interface LinkSettings {
  publicBaseUrl: string;
  setPasswordHours: number;
}

/** Creates a person with a one-time set-password link (or, for the operator's automation, a password hash at once). */
export async function createStaff(
  tx: Knex.Transaction,
  links: LinkSettings,
  by: Principal | null,
  input: StaffInput,
  opts: { passwordHash?: string; actor?: string } = {},
): Promise<{ staff: StaffRow; link: SetPasswordLink | null }> {
  const login = input.login.trim().toLowerCase();
  if (!LOGIN_RE.test(login)) throw ValidationError.field('login', 'a login is 2–64 characters: lower-case letters, digits, dot, dash, underscore', 'invalid_login');
  assertManages(by, input.courts);
  await assertKnownCourts(tx, input.courts);
  const link = opts.passwordHash ? null : newLink(links.publicBaseUrl, links.setPasswordHours, new Date());
  let row: StaffRow;
  try {
    [row] = await tx<StaffRow>('staff')
      .insert({
        login,
        name: input.name.trim(),
        roles: [...new Set(input.roles)],
        all_courts: input.courts === 'all',
        court_codes: input.courts === 'all' ? [] : [...new Set(input.courts)],
        password_hash: opts.passwordHash ?? null,
        set_password_token_hash: link ? tokenHash(link.token) : null,
        set_password_expires_at: link?.expiresAt ?? null,
      })
      .returning('*');
  } catch (e) {
    if (pgCode(e) === PG.uniqueViolation) throw new ConflictError('staff_login_taken', `a member of staff already has the login ${login}`);
    throw e;
  }
  await recordAudit(tx, { action: 'staff.created', entityType: 'staff', entityId: login, after: presentStaff(row) }, opts.actor);
  return { staff: row, link };
}

/** The people a principal manages (all for the operator), by login. */
export function staffVisibleTo(db: Queryable, p: Principal | null): Knex.QueryBuilder<StaffRow> {
  const q = db<StaffRow>('staff');
  if (p && !p.allCourts) q.where('all_courts', false).whereRaw('court_codes <@ ?::text[]', [textArray([...p.courts])]);
  return q;
}

export async function findManagedStaff(tx: Queryable, p: Principal | null, login: string, forUpdate = false): Promise<StaffRow> {
  const q = staffVisibleTo(tx, p).where({ login: login.toLowerCase() });
  const row = await (forUpdate ? q.forUpdate() : q).first();
  if (!row) throw new NotFoundError(`member of staff ${login}`);
  return row;
}

/** A Postgres text[] literal (each element quoted), bound as one parameter. */
function textArray(items: string[]): string {
  return `{${items.map((i) => `"${i.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

export interface StaffChanges {
  name?: string;
  roles?: StaffRole[];
  courts?: string[] | 'all';
  active?: boolean;
  /** Issue a new one-time set-password link (the old password keeps working until it is used). */
  resetPassword?: boolean;
}

/** What changed for the caches: a disabled person's sessions end; any change makes cached sessions reload. */
export interface StaffUpdate {
  before: StaffRow;
  after: StaffRow;
  link: SetPasswordLink | null;
  disabled: boolean;
}

export async function updateStaff(tx: Knex.Transaction, links: LinkSettings, by: Principal | null, login: string, changes: StaffChanges, actor?: string): Promise<StaffUpdate> {
  const before = await findManagedStaff(tx, by, login, true);
  if (changes.courts !== undefined) {
    assertManages(by, changes.courts);
    await assertKnownCourts(tx, changes.courts);
  }
  const link = changes.resetPassword ? newLink(links.publicBaseUrl, links.setPasswordHours, new Date()) : null;
  const patch: Partial<StaffRow> & Record<string, unknown> = { updated_at: new Date() };
  if (changes.name !== undefined) patch.name = changes.name.trim();
  if (changes.roles !== undefined) patch.roles = [...new Set(changes.roles)];
  if (changes.courts !== undefined) {
    patch.all_courts = changes.courts === 'all';
    patch.court_codes = changes.courts === 'all' ? [] : [...new Set(changes.courts)];
  }
  if (changes.active !== undefined) patch.active = changes.active;
  if (changes.active === true) Object.assign(patch, { failed_attempts: 0, locked_until: null });
  if (link) Object.assign(patch, { set_password_token_hash: tokenHash(link.token), set_password_expires_at: link.expiresAt });
  const [after] = await tx<StaffRow>('staff').where({ id: before.id }).update(patch).returning('*');
  const disabled = before.active && !after.active;
  const action = disabled ? 'staff.disabled' : !before.active && after.active ? 'staff.enabled' : 'staff.changed';
  await recordAudit(tx, { action, entityType: 'staff', entityId: after.login, before: presentStaff(before), after: { ...presentStaff(after), ...(link ? { setPasswordLinkIssued: true } : {}) } }, actor);
  return { before, after, link, disabled };
}
