import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import { logger } from '../shared/logger';
import { chainsOf, MAX_CHAIN, recordAndClaim, releaseOf, sendChain, type ChainCounts, type Claimed, type Recorded } from './deliver';
import { emitOverdue } from './overdue';

export { deliverDue, type DeliveryReport } from './deliver';
export { emitOverdue } from './overdue';

export interface CallbackWorker {
  stop(): Promise<void>;
}

/**
 * Delivers outbox messages until stopped, as a pipeline: at most callbacks.batchSize chains (an
 * invoice's due messages, sent one after another) in flight per worker, so at most that many
 * requests at once. One database round trip at a time writes back every attempt finished since the
 * last one and, in the same statement, claims as many due chains as there is room for; meanwhile
 * the claimed chains are being sent (chains in parallel, each in order). So the round trips batch
 * themselves: the more that finishes while one runs, the more the next one records and claims. A
 * chain's room opens when it has been sent, before its attempts are written back (they go with the
 * next round trip), so the requests in flight stay near the limit rather than dipping for every
 * round trip. A claim that comes back short means nothing more is due: the next claim waits
 * callbacks.pollIntervalMs (write-backs do not). Start as many workers as you like, in as many
 * instances: claims never overlap. stop() lets the sends in flight finish (at most the timeout),
 * releases the rest of their chains and records it all.
 */
export function startCallbackWorker(knex: Knex, config: Readonly<Config>): CallbackWorker {
  const c = config.callbacks;
  const capacity = c.batchSize;
  /** Claim only when at least this much room has opened up (tiny claims cost a round trip for little). */
  const minClaim = Math.max(1, Math.floor(capacity / 8));
  let stopped = false;
  let sending = 0; // chains claimed and not yet sent to the end
  let finished: Recorded[] = []; // attempts and releases not yet written back
  let claimAfter = 0; // after a short claim: nothing more was due until then
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
    await refreshPlannerStatistics(knex);
    for (;;) {
      const now = Date.now();
      const room = capacity - sending;
      const claim = !stopped && now >= claimAfter && room >= Math.min(minClaim, capacity);
      if (!finished.length && !claim) {
        if (stopped && sending === 0) return;
        // Woken by a finished chain; when idle, also when the next claim is due.
        await waitFor(!stopped && now < claimAfter ? claimAfter - now : null);
        continue;
      }
      const records = finished;
      finished = [];
      const at = new Date(now);
      let rows: Claimed[] = [];
      try {
        rows = await recordAndClaim(knex, records, claim ? { now: at, limit: room * MAX_CHAIN, heads: room, timeoutMs: c.timeoutMs } : null);
      } catch (e) {
        logger.error('callback delivery failed', { err: (e as Error).message });
        // Stopping: given up, those messages come due again when their claim runs out.
        if (!stopped) {
          finished = records.concat(finished);
          claimAfter = Date.now() + c.pollIntervalMs;
          await waitFor(c.pollIntervalMs);
        }
        continue;
      }
      if (!claim) continue;
      if (new Set(rows.map((r) => r.head)).size < room) claimAfter = Date.now() + c.pollIntervalMs;
      const { chains, releases } = chainsOf(rows, at);
      finished.push(...releases);
      sending += chains.length;
      for (const chain of chains) {
        void sendChain(chain, config, at, counts, () => stopped)
          .catch((e: Error) => {
            logger.error('callback chain failed', { err: e.message });
            return chain.map((m) => releaseOf(m, new Date()));
          })
          .then((out) => {
            sending -= 1;
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

/**
 * ANALYZE the outbox before claiming from it. Without statistics (a fresh table after a deploy) or
 * with statistics from before a backlog built up (the receiver was down), the planner expects a
 * handful of due messages, and each claim then reads and orders every due row instead of walking
 * the due index to the first few hundred: 50 ms per claim at 10,000 due on a 2-core machine, growing
 * with the backlog. A worker starts when an instance does, which is when a backlog is most likely
 * waiting. Best effort: a claim works without it, only slower.
 */
async function refreshPlannerStatistics(knex: Knex): Promise<void> {
  try {
    await knex.raw('analyze (skip_locked) callback_messages'); // another worker analysing it will do
  } catch (e) {
    logger.warn('callback outbox not analysed', { err: (e as Error).message });
  }
}

/** The daily overdue check, one job per court at callbacks.overdueCron in the court's own time zone. */
export function callbackJobs(knex: Knex, config: Readonly<Config>): JobSpec[] {
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
