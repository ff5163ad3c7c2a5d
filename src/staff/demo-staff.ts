import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { randomBase62 } from '../auth/keys';
import { hashPassword } from './secrets';
import { createStaff, STAFF_ROLES, type StaffRole } from './staff-store';
import { linkSettings } from './manage';

const DEMO_NAMES: Record<StaffRole, string> = { clerk: '收费员', approver: '审批人', finance: '财务', admin: '管理员' };

export type DemoStaff = Record<StaffRole, { login: string; password: string }>;

/**
 * Development on the embedded database only: one person per role for every court (demo-clerk, …),
 * with a password made on the first start and kept beside the data folder (as the demo keys are),
 * so a newcomer can sign in at /console/login at once. Never in production.
 */
export async function ensureDemoStaff(knex: Knex, config: Readonly<Config>): Promise<DemoStaff> {
  const file = path.join(path.dirname(path.resolve(config.db.embeddedDir)), 'demo-staff.json');
  const saved = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DemoStaff>) : {};
  const people = {} as DemoStaff;
  for (const role of STAFF_ROLES) {
    const login = `demo-${role}`;
    const exists = await knex('staff').where({ login }).first('id');
    if (exists && saved[role]) {
      people[role] = saved[role]!;
      continue;
    }
    const password = randomBase62(16);
    const passwordHash = await hashPassword(password);
    if (exists) await knex('staff').where({ login }).update({ password_hash: passwordHash, active: true, failed_attempts: 0, locked_until: null });
    else await knex.transaction((tx) => createStaff(tx, linkSettings(config), null, { login, name: `演示${DEMO_NAMES[role]}`, roles: [role], courts: 'all' }, { passwordHash, actor: 'system:demo-seed' }));
    people[role] = { login, password };
  }
  fs.writeFileSync(file, JSON.stringify(people, null, 2), { mode: 0o600 });
  return people;
}
