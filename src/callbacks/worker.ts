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
 * Delivers outbox messages until stopped: a full batch means more may be due, so it goes again at
 * once; otherwise it waits callbacks.pollIntervalMs. Start as many as you like, in as many
 * instances: claims never overlap. stop() lets the batch in flight finish (at most the timeout).
 */
export function startCallbackWorker(knex: Knex, config: Readonly<Config>): CallbackWorker {
  initCallbacks(config);
  let stopped = false;
  let wake: () => void = () => undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  const loop = async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        claimed = (await deliverDue(knex, config)).claimed;
      } catch (e) {
        logger.error('callback delivery failed', { err: (e as Error).message });
      }
      if (!stopped && claimed < config.callbacks.batchSize) await pause(config.callbacks.pollIntervalMs);
    }
  };
  const running = loop();
  return {
    async stop() {
      stopped = true;
      wake();
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
