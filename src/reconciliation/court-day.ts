import type { Config, CourtConfig } from '../config';
import { addDays, courtToday, requireCourt } from '../courts/courts';
import { ValidationError } from '../shared/errors';

/** A court's calendar day as a half-open interval of instants, in the court's time zone. */
export interface CourtDay {
  courtCode: string;
  date: string;
  timeZone: string;
  start: Date;
  end: Date;
  startEpoch: number;
  endEpoch: number;
}

const parts = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds the zone's wall clock is ahead of UTC at an instant. */
function offsetMs(instant: number, timeZone: string): number {
  let f = parts.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    parts.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(instant / 1000) * 1000;
}

/** The instant a date's midnight falls in a zone (re-checked once, for a DST change that day). */
function midnight(date: string, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const first = wall - offsetMs(wall, timeZone);
  return wall - offsetMs(first, timeZone);
}

export function courtDay(court: Pick<CourtConfig, 'code' | 'timeZone'>, date: string): CourtDay {
  const start = midnight(date, court.timeZone);
  const end = midnight(addDays(date, 1), court.timeZone);
  return { courtCode: court.code, date, timeZone: court.timeZone, start: new Date(start), end: new Date(end), startEpoch: start / 1000, endEpoch: end / 1000 };
}

/** A court-day that can be reconciled: a known court, and a day that has already ended there. */
export function closedCourtDay(config: Readonly<Config>, courtCode: string, date: string, now = new Date()): CourtDay {
  const court = requireCourt(config, courtCode);
  if (date >= courtToday(court.timeZone, now)) {
    throw ValidationError.field('date', `${date} has not ended yet in court ${courtCode} (${court.timeZone})`, 'date_not_closed');
  }
  return courtDay(court, date);
}

/** The court-day that ended last in a time zone: what the nightly job reconciles. */
export function previousDay(timeZone: string, now = new Date()): string {
  return addDays(courtToday(timeZone, now), -1);
}

/**
 * The processor account's day: every court shares the account, so its day is the courts' calendar
 * day, in the time zone they share (courtCode is empty: the day is no court's). Courts in several
 * time zones have no one account day: the account-level run then refuses, naming why.
 */
export function accountTimeZone(config: Readonly<Config>): string {
  const zones = [...new Set(config.courts.map((c) => c.timeZone))];
  if (!hasAccountDay(config)) {
    throw ValidationError.field('courtCode', `the courts use ${zones.length} time zones (${zones.join(', ')}): the account-level run needs one; reconcile each court`, 'account_day_ambiguous');
  }
  return zones[0];
}

/** Whether the courts share one time zone, so the account has one day (the account-level run is possible). */
export function hasAccountDay(config: Readonly<Config>): boolean {
  return new Set(config.courts.map((c) => c.timeZone)).size === 1;
}

export function closedAccountDay(config: Readonly<Config>, date: string, now = new Date()): CourtDay {
  const timeZone = accountTimeZone(config);
  if (date >= courtToday(timeZone, now)) throw ValidationError.field('date', `${date} has not ended yet (${timeZone})`, 'date_not_closed');
  return courtDay({ code: '', timeZone }, date);
}
