import PgBoss from 'pg-boss';
import { logger } from '../shared/logger';
import { failAbandonedRuns, markRunOwner } from './abandoned';
import { startPresence } from './presence';
import { DEFAULT_EXPIRE_SECONDS, runCounted, type JobRunner, type JobSpec } from './runner';

export interface PgBossRunnerOptions {
  /** The schema pg-boss keeps its queues in (tests give each run its own). */
  schema?: string;
  /** How often a live runner looks for runs abandoned by an instance that died after it started. */
  abandonedCheckMs?: number;
}

/** A failed run is tried again this often before it waits for its next tick. */
const RETRY = { retryLimit: 2, retryDelay: 30 };

/**
 * On a Postgres server: pg-boss. Each job is a singleton queue on a cron schedule, so one run at a
 * time across every instance, and a missed tick is picked up by whichever instance is alive. Each
 * run is marked with the instance that took it; on start (and every abandonedCheckMs after) the
 * runs whose instance has no session left are failed, so a killed process does not hold the queue
 * until the run's expiry.
 */
export async function pgBossRunner(connectionString: string, o: PgBossRunnerOptions = {}): Promise<JobRunner> {
  const schema = o.schema ?? 'pgboss';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`pg-boss schema ${schema} is not a plain lower-case identifier`);
  const presence = await startPresence(connectionString);
  const boss = new PgBoss({ connectionString, schema, max: 3 });
  boss.on('error', (e: Error) => logger.error('job queue error', { err: e.message }));
  try {
    await boss.start();
  } catch (e) {
    await presence.close();
    throw e;
  }
  const names: string[] = [];
  const checkAbandoned = (queues: string[]) =>
    failAbandonedRuns(boss, schema, presence.instance, queues).catch((e: Error) => logger.warn('abandoned job runs not checked', { err: e.message }));
  const timer = setInterval(() => void checkAbandoned(names), o.abandonedCheckMs ?? 60_000);
  timer.unref();
  return {
    instance: presence.instance,
    async register(spec: JobSpec) {
      const queue = { name: spec.name, policy: 'singleton' as const, ...RETRY, expireInSeconds: spec.expireInSeconds ?? DEFAULT_EXPIRE_SECONDS };
      await boss.createQueue(spec.name, queue);
      await boss.updateQueue(spec.name, queue); // a queue made by an earlier version keeps its old settings otherwise
      await boss.schedule(spec.name, spec.cron, {}, { tz: spec.tz ?? 'UTC' });
      names.push(spec.name);
      await checkAbandoned([spec.name]);
      await boss.work(spec.name, async (jobs) => {
        for (const job of jobs) {
          const owned: JobSpec = {
            ...spec,
            async run(data) {
              await markRunOwner(boss, schema, spec.name, job.id, presence.instance);
              await spec.run(data);
            },
          };
          const err = await runCounted(owned, (job.data ?? {}) as Record<string, unknown>, { jobId: job.id });
          if (err) throw err; // pg-boss records the failure and retries it per the queue
        }
      });
    },
    async stop() {
      clearInterval(timer);
      await boss.stop({ graceful: true, timeout: 10_000 });
      await presence.close();
    },
  };
}
