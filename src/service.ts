import type { Server } from 'node:http';
import { ApiKeyAuthenticator } from './auth/api-key-store';
import { auditJobs } from './audit/chain-job';
import type { Config } from './config';
import { syncCourts } from './courts/courts';
import { openDatabase, type Database } from './db';
import { buildApp } from './http/app';
import { idempotencyJobs } from './http/idempotency';
import { listen } from './http/server';
import { callbackJobs, startCallbackWorker } from './callbacks/worker';
import { reconciliationJobs } from './reconciliation/jobs';
import { inProcessRunner, type JobRunner, type JobSpec } from './jobs/runner';
import type { Processor } from './payments/processor';
import { setUpProcessor } from './payments/setup';
import { sweepPendingPayments } from './payments/sweep';
import { sweepRefunds } from './refunds/sweep';
import type { Sandbox } from './sandbox';
import { logger } from './shared/logger';

export interface RunningService {
  server: Server;
  port: number;
  db: Database;
  processor: Processor;
  sandbox: Sandbox | null;
  stop(): Promise<void>;
}

/** Opens the database (migrating it), applies the court list, and starts listening. */
export async function startService(config: Readonly<Config>): Promise<RunningService> {
  const db = await openDatabase(config);
  await syncCourts(db.knex, config.courts);
  const authenticator = new ApiKeyAuthenticator(db.knex, config.auth);
  if (config.db.url) await authenticator.listen(config.db.url);
  let port = config.http.port;
  const { processor, sandbox } = await setUpProcessor(db.knex, config, () => `http://127.0.0.1:${port}/webhooks/stripe`);
  const app = buildApp({ knex: db.knex, config, authenticator, processor, sandboxPages: sandbox?.pages });
  const http = await listen(app, config.http);
  const server = http.server;
  port = http.port;
  const jobs = config.jobs.enabled ? await startJobs(db, config, processor) : null;
  const callbacks = config.callbacks.enabled ? startCallbackWorker(db.knex, config) : null;
  logger.info('listening', { port, database: db.embedded ? 'embedded' : 'postgres', env: config.env });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing requests in flight');
      await http.drain(config.http.shutdownGraceMs);
      await callbacks?.stop();
      await jobs?.stop();
      await sandbox?.stop();
      await authenticator.close();
      await db.close();
      logger.info('stopped');
    })());
  return { server, port, db, processor, sandbox, stop };
}

/**
 * Every scheduled job the service runs, in one list that both runners take as it is. A capability
 * adds its jobs here as JobSpecs (name, cron, tz, expireInSeconds, run), e.g. a daily purge:
 * `...idempotencyJobs(db.knex, config)`. A job's failure is logged and counted by the runner and
 * never ends the service; it runs again at its next tick.
 */
function serviceJobs(db: Database, config: Readonly<Config>, processor: Processor): JobSpec[] {
  return [processorSweepJob(db, config, processor), ...reconciliationJobs(db.knex, config, processor), ...callbackJobs(db.knex, config), ...idempotencyJobs(db.knex, config), ...auditJobs(db.knex, config)];
}

async function startJobs(db: Database, config: Readonly<Config>, processor: Processor): Promise<JobRunner> {
  // pg-boss is loaded only where it runs (on Postgres): the embedded database's start does without it.
  const runner = db.embedded ? inProcessRunner() : await (require('./jobs/pg-boss-runner') as typeof import('./jobs/pg-boss-runner')).pgBossRunner(config.db.url!);
  for (const spec of serviceJobs(db, config, processor)) await runner.register(spec);
  return runner;
}

function processorSweepJob(db: Database, config: Readonly<Config>, processor: Processor): JobSpec {
  return {
    name: 'processor-sweep',
    cron: config.payments.sweepCron,
    // A sweep takes seconds; one still active after 3 minutes is dead, and the next tick (5 minutes by default) may start.
    expireInSeconds: 180,
    run: async () => {
      const report = await sweepPendingPayments(db.knex, config, processor, config.payments.sweepAfterMinutes);
      if (report.checked || report.eventsRetried || report.errors) logger.info('payments sweep', { ...report });
      const refunds = await sweepRefunds(db.knex, config, processor, config.refunds.sweepAfterMinutes);
      if (refunds.submitted || refunds.checked || refunds.errors) logger.info('refunds sweep', { ...refunds });
    },
  };
}
