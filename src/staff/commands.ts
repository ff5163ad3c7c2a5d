import type { Knex } from 'knex';
import type { Config } from '../config';
import { ValidationError } from '../shared/errors';
import { changeStaff, linkSettings } from './manage';
import { hashPassword, passwordProblem } from './secrets';
import { createStaff, STAFF_ROLES, type StaffRole, type StaffRow } from './staff-store';

const OPERATOR = 'operator:cli';

export interface CreateStaffCommand {
  login: string;
  name: string;
  roles: string;
  courts: string;
  /** The password itself (read from standard input): no link is made. */
  password?: string;
}

export function parseRoles(text: string): StaffRole[] {
  const roles = text.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(STAFF_ROLES as readonly string[]).includes(r));
  if (!roles.length || bad.length) throw ValidationError.field('roles', `roles are one or more of ${STAFF_ROLES.join(', ')}${bad.length ? ` (not ${bad.join(', ')})` : ''}`, 'invalid_role');
  return roles as StaffRole[];
}

export function parseCourts(text: string): string[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const courts = text.split(',').map((c) => c.trim()).filter(Boolean);
  if (!courts.length) throw ValidationError.field('courts', 'a comma-separated list of court codes, or all', 'invalid_courts');
  return courts;
}

/** `staff create`: the person, and the one-time set-password link to hand them (none when a password was given). */
export async function createStaffCommand(knex: Knex, config: Readonly<Config>, c: CreateStaffCommand): Promise<{ staff: StaffRow; url: string | null }> {
  const input = { login: c.login, name: c.name, roles: parseRoles(c.roles), courts: parseCourts(c.courts) };
  let passwordHash: string | undefined;
  if (c.password !== undefined) {
    const problem = passwordProblem(c.password, config.staff.minPasswordLength);
    if (problem) throw ValidationError.field('password', problem === 'too_short' ? `at least ${config.staff.minPasswordLength} characters` : 'too long', `password_${problem}`);
    passwordHash = await hashPassword(c.password);
  }
  const { staff, link } = await knex.transaction((tx) => createStaff(tx, linkSettings(config), null, input, { passwordHash, actor: OPERATOR }));
  return { staff, url: link?.url ?? null };
}

/** `staff disable`: sessions end and owned keys are refused on every instance. */
export async function disableStaffCommand(knex: Knex, config: Readonly<Config>, login: string): Promise<void> {
  await knex.transaction((tx) => changeStaff(tx, config, null, login, { active: false }, OPERATOR));
}

export async function listStaffCommand(knex: Knex): Promise<StaffRow[]> {
  return knex<StaffRow>('staff').orderBy('login');
}
