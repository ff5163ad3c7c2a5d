import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { hasAccountDay, previousDay } from './court-day';
import { reconcileCourts } from './run';
import { STALE_RUN_MINUTES } from './run-store';

/**
 * The nightly runs: one job per time zone the courts use, at the configured time (02:00) in that
 * zone, reconciling the court-day that just ended for each court there, then the account-level run. On pg-boss each job is a
 * singleton queue; beyond that, the claim on each court-day row keeps a second run out.
 */
export function reconciliationJobs(knex: Knex, config: Readonly<Config>, processor: Processor, clock: () => Date = () => new Date()): JobSpec[] {
  const zones = new Map<string, string[]>();
  for (const c of config.courts) zones.set(c.timeZone, [...(zones.get(c.timeZone) ?? []), c.code]);
  // The account-level run goes with the courts' one time zone; with several there is no account day.
  const account = hasAccountDay(config);
  return [...zones].map(([tz, courtCodes]) => ({
    name: `reconciliation-${tz.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`,
    cron: config.reconciliation.cron,
    tz,
    // A night's run can take a while (report source); after this it is dead, as its court-day claim is.
    expireInSeconds: STALE_RUN_MINUTES * 60,
    async run() {
      const now = clock();
      const outcomes = await reconcileCourts({ knex, config, processor }, { date: previousDay(tz, now), courtCodes, account, now, startedBy: 'job:reconciliation' });
      const failed = outcomes.filter((o) => o.outcome === 'failed');
      for (const o of outcomes) if (o.outcome === 'already_running') logger.info('reconciliation already running elsewhere', { courtCode: o.courtCode, date: o.date });
      if (failed.length) throw new Error(`reconciliation failed for ${failed.length} of ${outcomes.length} courts in ${tz}`);
    },
  }));
}
