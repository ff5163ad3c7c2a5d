import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import type { Processor } from '../payments/processor';

/** The nightly runs, one per court-day (placeholder until the reconciliation module lands). */
export function reconciliationJobs(_knex: Knex, _config: Readonly<Config>, _processor: Processor): JobSpec[] {
  return [];
}
