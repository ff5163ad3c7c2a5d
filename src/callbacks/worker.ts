import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';

export interface CallbackWorker {
  stop(): Promise<void>;
}

/** Delivers outbox messages (placeholder until the callbacks module lands). */
export function startCallbackWorker(_knex: Knex, _config: Readonly<Config>): CallbackWorker {
  return { stop: async () => undefined };
}

/** Scheduled callback jobs, e.g. the daily overdue check (placeholder). */
export function callbackJobs(_knex: Knex, _config: Readonly<Config>): JobSpec[] {
  return [];
}
