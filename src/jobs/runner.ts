import cronParser from 'cron-parser';
import PgBoss from 'pg-boss';
import { logger } from '../shared/logger';

export interface JobSpec {
  name: string;
  /** Five-field cron, in tz (default UTC). */
  cron: string;
  tz?: string;
  run: (data: Record<string, unknown>) => Promise<void>;
}

/** Runs scheduled jobs once across however many instances there are. */
export interface JobRunner {
  register(spec: JobSpec): Promise<void>;
  stop(): Promise<void>;
}

/**
 * On a Postgres server: pg-boss. Each job is a singleton queue on a cron schedule, so one run at a
 * time across every instance, and a missed tick is picked up by whichever instance is alive.
 */
export async function pgBossRunner(connectionString: string): Promise<JobRunner> {
  const boss = new PgBoss({ connectionString, schema: 'pgboss', max: 3 });
  boss.on('error', (e: Error) => logger.error('job queue error', { err: e.message }));
  await boss.start();
  return {
    async register(spec) {
      await boss.createQueue(spec.name, { name: spec.name, policy: 'singleton', retryLimit: 2, retryDelay: 30, expireInSeconds: 15 * 60 });
      await boss.schedule(spec.name, spec.cron, {}, { tz: spec.tz ?? 'UTC' });
      await boss.work(spec.name, async (jobs) => {
        for (const job of jobs) await runLogged(spec, (job.data ?? {}) as Record<string, unknown>);
      });
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}

/**
 * On the embedded database (one process by construction): timers at the cron's next tick. No
 * advisory locks, no second session: one instance is all there can be.
 */
export function inProcessRunner(): JobRunner {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const arm = (spec: JobSpec) => {
    if (stopped) return;
    const next = cronParser.parseExpression(spec.cron, { tz: spec.tz ?? 'UTC' }).next().getTime();
    const t = setTimeout(async () => {
      timers.delete(t);
      await runLogged(spec, {});
      arm(spec);
    }, Math.max(1000, next - Date.now()));
    t.unref();
    timers.add(t);
  };
  return {
    async register(spec) {
      arm(spec);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}

async function runLogged(spec: JobSpec, data: Record<string, unknown>): Promise<void> {
  const started = Date.now();
  try {
    await spec.run(data);
    logger.info('job finished', { job: spec.name, durationMs: Date.now() - started });
  } catch (e) {
    logger.error('job failed', { job: spec.name, err: (e as Error).message });
    throw e;
  }
}
