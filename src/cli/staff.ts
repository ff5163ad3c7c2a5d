import type { Knex } from 'knex';
import type { Config } from '../config';
import { createStaffCommand, disableStaffCommand, listStaffCommand, type CreateStaffCommand } from '../staff/commands';

/** The `staff` commands of src/cli/main.ts: what they print. */
export async function staffCommand(knex: Knex, config: Readonly<Config>, verb: string, arg: string | undefined, c: CreateStaffCommand): Promise<void> {
  if (verb === 'create') {
    const { staff, url } = await createStaffCommand(knex, config, c);
    console.log(`Created ${staff.login} ("${staff.name}", roles ${staff.roles.join(',')}, courts ${staff.all_courts ? 'all' : staff.court_codes.join(',')}).`);
    if (url) {
      console.log(`Give them this one-time link to choose a password (it works for ${config.staff.setPasswordHours} hours; only its hash is stored):`);
      console.log(url);
    } else console.log('The password from standard input is set; they can sign in at /console/login.');
  } else if (verb === 'disable') {
    await disableStaffCommand(knex, config, arg!);
    console.log(`Disabled ${arg}: their sessions have ended and their API keys are refused.`);
  } else {
    for (const s of await listStaffCommand(knex)) {
      console.log([s.login, `"${s.name}"`, s.roles.join(','), s.all_courts ? 'all' : s.court_codes.join(','), s.active ? 'active' : 'disabled', s.password_hash ? '' : '(no password yet)'].filter(Boolean).join('  '));
    }
  }
}
