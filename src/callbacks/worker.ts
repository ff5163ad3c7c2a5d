import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import { logger } from '../shared/logger';
import { deliverDue } from './deliver';
import { initCallbacks } from './emit';
import { emitOverdue } from './overdue';

export { deliverDue, type DeliveryReport } from './deliver';
export { emitOverdue } from './overdue';

export interface CallbackWorker {
  stop(): Promise<void>;
}

/**
 * Delivers outbox messages until stopped. Two lanes of half a batch each, so one lane's database
 * round trips overlap the other's sends (at most batchSize requests in flight per worker). A full
 * claim means more may be due, so a lane goes again at once; otherwise it waits
 * callbacks.pollIntervalMs. Start as many workers as you like, in as many instances: claims never
 * overlap. stop() lets the sends in flight finish (at most the timeout).
 */
export function startCallbackWorker(knex: Knex, config: Readonly<Config>): CallbackWorker {
  initCallbacks(config);
  let stopped = false;
  const sleepers = new Set<() => void>();
  const pause = (ms: number) => new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(t);
      sleepers.delete(wake);
      resolve();
    };
    const t = setTimeout(wake, ms);
    sleepers.add(wake);
  });
  const lane = async (size: number) => {
    while (!stopped) {
      let claimed = 0;
      try {
        claimed = (await deliverDue(knex, config, new Date(), size)).claimed;
      } catch (e) {
        logger.error('callback delivery failed', { err: (e as Error).message });
      }
      if (!stopped && claimed < size) await pause(config.callbacks.pollIntervalMs);
    }
  };
  const half = Math.ceil(config.callbacks.batchSize / 2);
  const running = Promise.all(config.callbacks.batchSize > 1 ? [lane(half), lane(config.callbacks.batchSize - half)] : [lane(1)]);
  return {
    async stop() {
      stopped = true;
      for (const wake of [...sleepers]) wake();
      await running;
    },
  };
}

/** The daily overdue check, one job per court at callbacks.overdueCron in the court's own time zone. */
export function callbackJobs(knex: Knex, config: Readonly<Config>): JobSpec[] {
  initCallbacks(config);
  return config.courts.map((court) => ({
    name: `callbacks-overdue-${court.code}`,
    cron: config.callbacks.overdueCron,
    tz: court.timeZone,
    run: async () => {
      const emitted = await emitOverdue(knex, config, court.code);
      if (emitted) logger.info('overdue invoices notified', { courtCode: court.code, invoices: emitted });
    },
  }));
}
