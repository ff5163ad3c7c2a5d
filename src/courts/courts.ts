import type { Knex } from 'knex';
import type { Config, CourtConfig } from '../config';
import type { Queryable } from '../db';
import { ValidationError } from '../shared/errors';

export interface Court {
  code: string;
  name: string;
  level: string;
  province: string;
  designation: string;
  timeZone: string;
}

/** Applies the configured court list to the courts table: upsert those listed, deactivate the rest. */
export async function syncCourts(knex: Knex, courts: readonly CourtConfig[]): Promise<void> {
  await knex.transaction(async (tx) => {
    for (const c of courts) {
      await tx('courts')
        .insert({ code: c.code, name: c.name, level: c.level, province: c.province, designation: c.designation, time_zone: c.timeZone, active: true })
        .onConflict('code')
        .merge(['name', 'level', 'province', 'designation', 'time_zone', 'active', 'updated_at'].reduce((o, k) => ({ ...o, [k]: k === 'updated_at' ? tx.fn.now() : tx.raw(`excluded.${k}`) }), {}));
    }
    await tx('courts').whereNotIn('code', courts.map((c) => c.code)).update({ active: false });
  });
}

function toCourt(row: { code: string; name: string; level: string; province: string; designation: string; time_zone: string }): Court {
  return { code: row.code, name: row.name, level: row.level, province: row.province, designation: row.designation, timeZone: row.time_zone };
}

export async function listCourts(db: Queryable, codes: string[] | null): Promise<Court[]> {
  const q = db('courts').where({ active: true }).orderBy('code');
  if (codes) q.whereIn('code', codes);
  return (await q).map(toCourt);
}

/** A court named in a request: unknown is a field error, not a 404 of the route. */
export function requireCourt(config: Readonly<Config>, code: string, field = 'courtCode'): CourtConfig {
  const court = config.courts.find((c) => c.code === code);
  if (!court) throw ValidationError.field(field, `unknown court ${code}`, 'unknown_court');
  return court;
}

/** Today's date (YYYY-MM-DD) in a court's time zone: due dates are court days. */
export function courtToday(timeZone: string, now = new Date()): string {
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(now);
}

/** Building an Intl formatter costs far more than using one: keep one per time zone. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
