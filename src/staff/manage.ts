import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';
import type { Config } from '../config';
import { announce, endSessionsOf, forgetOwnedKeys } from './sessions';
import { updateStaff, type StaffChanges, type StaffUpdate } from './staff-store';

export const linkSettings = (config: Readonly<Config>) => ({ publicBaseUrl: config.publicBaseUrl, setPasswordHours: config.staff.setPasswordHours });

/**
 * Changes a person (API or command line). Every instance's cached sessions reload the person at
 * once (new roles or courts count from the next request); a disabled person's sessions end and
 * their API keys are refused, everywhere, when this commits.
 */
export async function changeStaff(tx: Knex.Transaction, config: Readonly<Config>, by: Principal | null, login: string, changes: StaffChanges, actor?: string): Promise<StaffUpdate> {
  const u = await updateStaff(tx, linkSettings(config), by, login, changes, actor);
  if (u.disabled) {
    await endSessionsOf(tx, u.after.id, 'staff_disabled', new Date());
    await forgetOwnedKeys(tx, u.after.id);
  } else {
    await announce(tx, `staff:${u.after.id}`);
  }
  return u;
}
