import Joi from 'joi';
import type { Principal } from '../auth/principal';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { pageOf } from '../http/lists';
import { changeStaff, linkSettings } from './manage';
import { createStaff, presentStaff, STAFF_ROLES, staffVisibleTo, type StaffChanges, type StaffInput, type StaffRow } from './staff-store';

const ADMIN = ['admin'] as const;
const fields = {
  name: Joi.string().trim().min(1).max(200),
  roles: Joi.array().items(Joi.string().valid(...STAFF_ROLES)).min(1).unique(),
  courts: Joi.alternatives(Joi.array().items(Joi.string().max(10)).min(1).max(100).unique(), Joi.string().valid('all')),
};
const createBody = Joi.object({ login: Joi.string().trim().lowercase().min(2).max(64).required(), name: fields.name.required(), roles: fields.roles.required(), courts: fields.courts.required() });
const updateBody = Joi.object({ ...fields, active: Joi.boolean(), resetPassword: Joi.boolean().valid(true) }).min(1);
const loginParam = Joi.object({ login: Joi.string().lowercase().pattern(/^[a-z0-9][a-z0-9._-]{1,63}$/).required() });
const page = { limit: Joi.number().integer().min(1).max(500).default(50), cursor: Joi.string().max(200) };

/** Who the caller is: the person behind a session or an owned key, and what they may do where. */
export function whoAmI(p: Principal) {
  return {
    kind: p.kind,
    person: p.person ? { login: p.person.login, name: p.person.name } : null,
    roles: p.roles,
    courts: p.allCourts ? 'all' : [...p.courts].sort(),
  };
}

/** Staff accounts (admin, within its courts) and "who am I" for any key or session. */
export const staffRoutes: RouteDef[] = [
  {
    method: 'get', path: '/v1/me', summary: 'Who the caller is: key or session, the person, roles and courts', tag: 'staff', access: 'any_key', sessions: true,
    responses: { 200: json('{ kind: "api_key" | "session", person: { login, name } | null, roles, courts: [...] | "all" }', ref('Me')) },
    async read({ principal }) {
      return { status: 200, body: whoAmI(principal), headers: { 'cache-control': 'no-store' } };
    },
  },
  {
    method: 'get', path: '/v1/staff', summary: 'Staff accounts this admin manages (every court of theirs within its own)', tag: 'staff', access: ADMIN,
    query: Joi.object({ ...page, active: Joi.boolean() }), responses: { 200: json('{ data: [{ login, name, roles, courts, active, passwordSet, lockedUntil }], nextCursor }', listOf(ref('Staff'))) },
    async read({ db, principal, query }) {
      const q = staffVisibleTo(db, principal);
      if (query.active !== undefined) q.where({ active: query.active });
      const { rows, nextCursor } = await pageOf<StaffRow>(q, 'id', query as { limit: number; cursor?: string });
      return { status: 200, body: { data: rows.map(presentStaff), nextCursor } };
    },
  },
  {
    method: 'post', path: '/v1/staff', summary: 'Create a member of staff; the one-time set-password link is shown this once', tag: 'staff', access: ADMIN,
    body: createBody, shownOnce: ['setPasswordUrl'],
    responses: { 201: json('the person, with `setPasswordUrl` and `setPasswordExpiresAt` (an Idempotency-Key replay: `setPasswordUrl` null)', ref('Staff')) },
    async write({ body, principal, config }, tx) {
      const { staff, link } = await createStaff(tx, linkSettings(config), principal, body as StaffInput);
      return { status: 201, body: { ...presentStaff(staff), setPasswordUrl: link!.url, setPasswordExpiresAt: link!.expiresAt.toISOString() }, headers: { location: `/v1/staff/${staff.login}` } };
    },
  },
  {
    method: 'patch', path: '/v1/staff/{login}', summary: 'Change name, roles, courts, disable/enable (a disabled person\'s sessions end at once), or issue a new set-password link', tag: 'staff', access: ADMIN,
    params: loginParam, body: updateBody, shownOnce: ['setPasswordUrl'],
    responses: { 200: json('the person; with `resetPassword: true`, `setPasswordUrl` shown this once', ref('Staff')) },
    async write({ params, body, principal, config }, tx) {
      const u = await changeStaff(tx, config, principal, params.login, body as StaffChanges);
      const link = u.link ? { setPasswordUrl: u.link.url, setPasswordExpiresAt: u.link.expiresAt.toISOString() } : {};
      return { status: 200, body: { ...presentStaff(u.after), ...link } };
    },
  },
];
