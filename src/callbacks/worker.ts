import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import { logger } from '../shared/logger';
import { chainsOf, recordAndClaim, releaseOf, sendChain, type ChainCounts, type Claimed, type Recorded } from './deliver';
import { initCallbacks } from './emit';
import { emitOverdue } from './overdue';

export { deliverDue, type DeliveryReport } from './deliver';
export { emitOverdue } from './overdue';

export interface CallbackWorker {
  stop(): Promise<void>;
}

/**
 * Delivers outbox messages until stopped, as a pipeline: at most callbacks.batchSize messages in
 * flight per worker (claimed and not yet written back). One database round trip at a time writes
 * back every attempt finished since the last one and, in the same statement, claims as many due
 * messages as there is room for; meanwhile the claimed chains are being sent (each invoice's
 * messages in order, chains in parallel). So the round trips batch themselves: the more that
 * finishes while one runs, the more the next one records and claims. A claim that comes back short
 * means nothing more is due: the next claim waits callbacks.pollIntervalMs (write-backs do not).
 * Start as many workers as you like, in as many instances: claims never overlap. stop() lets the
 * sends in flight finish (at most the timeout), releases the rest of their chains and records it all.
 */
export function startCallbackWorker(knex: Knex, config: Readonly<Config>): CallbackWorker {
  initCallbacks(config);
  const c = config.callbacks;
  const capacity = c.batchSize;
  /** Claim only when at least this much room has opened up (tiny claims cost a round trip for little). */
  const minClaim = Math.max(1, Math.floor(capacity / 8));
  let stopped = false;
  let inflight = 0; // claimed, not yet written back
  let finished: Recorded[] = [];
  let claimAfter = 0; // after a short claim: nothing more was due until then
  let avgChain = 1; // messages per chain, to ask for about as many chains as there is room for
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const waitFor = (ms: number | null) => new Promise<void>((resolve) => {
    const t = ms === null ? null : setTimeout(() => signal(), Math.max(0, ms));
    wake = () => {
      if (t) clearTimeout(t);
      resolve();
    };
  });
  const counts: ChainCounts = { delivered: 0, retrying: 0, dead: 0 };

  const loop = async () => {
    for (;;) {
      const now = Date.now();
      const room = capacity - inflight;
      const claim = !stopped && now >= claimAfter && room >= Math.min(minClaim, capacity);
      if (!finished.length && !claim) {
        if (stopped && inflight === 0) return;
        // Woken by a finished chain; when idle, also when the next claim is due.
        await waitFor(!stopped && now < claimAfter ? claimAfter - now : null);
        continue;
      }
      const records = finished;
      finished = [];
      const at = new Date(now);
      let rows: Claimed[] = [];
      try {
        rows = await recordAndClaim(knex, records, claim ? { now: at, limit: room, heads: Math.ceil(room / avgChain), timeoutMs: c.timeoutMs } : null);
        inflight -= records.length;
      } catch (e) {
        logger.error('callback delivery failed', { err: (e as Error).message });
        if (stopped) {
          inflight -= records.length; // given up: those messages come due again when their claim runs out
        } else {
          finished = records.concat(finished);
          claimAfter = Date.now() + c.pollIntervalMs;
          await waitFor(c.pollIntervalMs);
        }
        continue;
      }
      if (!claim) continue;
      if (rows.length < room) claimAfter = Date.now() + c.pollIntervalMs;
      if (!rows.length) continue;
      inflight += rows.length;
      const { chains, releases } = chainsOf(rows, at);
      avgChain = Math.max(1, 0.7 * avgChain + 0.3 * (rows.length / Math.max(1, chains.length + releases.length)));
      finished.push(...releases);
      for (const chain of chains) {
        void sendChain(chain, config, at, counts, () => stopped)
          .catch((e: Error) => {
            logger.error('callback chain failed', { err: e.message });
            return chain.map((m) => releaseOf(m, new Date()));
          })
          .then((out) => {
            finished.push(...out);
            signal();
          });
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopped = true;
      signal();
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
