import cronParser from 'cron-parser';
import { logger } from '../shared/logger';
import { jobFailures } from './metrics';

/** Until a job says how long one run may take: pg-boss's own default. */
export const DEFAULT_EXPIRE_SECONDS = 15 * 60;

export interface JobSpec {
  name: string;
  /** Five-field cron, in tz (default UTC). */
  cron: string;
  tz?: string;
  /**
   * On pg-boss, how long one run may stay active before it is taken for dead (pg-boss fails it, and
   * the next tick may start): well above a normal run, below the gap that would starve the next
   * ones. The in-process runner needs none: its runs never overlap and die with the process.
   */
  expireInSeconds?: number;
  run: (data: Record<string, unknown>) => Promise<void>;
}

/**
 * Runs scheduled jobs once across however many instances there are. A run that fails is logged and
 * counted (courtpay_job_failures_total{job}) and never escapes the runner: the job runs again at
 * its next tick (and, on pg-boss, at its retries).
 */
export interface JobRunner {
  /** This runner's id: what it writes on the runs it takes, so another instance can tell it is gone. */
  readonly instance: string;
  register(spec: JobSpec): Promise<void>;
  stop(): Promise<void>;
}

/**
 * On the embedded database (one process by construction): timers at the cron's next tick. No
 * advisory locks, no second session: one instance is all there can be. The next tick is armed
 * after each run, failed or not, so runs never overlap and a failure never ends the schedule.
 */
export function inProcessRunner(): JobRunner {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  const arm = (spec: JobSpec) => {
    if (stopped) return;
    const next = cronParser.parseExpression(spec.cron, { tz: spec.tz ?? 'UTC' }).next().getTime();
    const t = setTimeout(() => {
      timers.delete(t);
      const run = runCounted(spec, {}).then(() => {
        running.delete(run);
        arm(spec);
      });
      running.add(run);
    }, Math.max(1000, next - Date.now()));
    t.unref();
    timers.add(t);
  };
  return {
    instance: `in-process:${process.pid}`,
    async register(spec) {
      arm(spec);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      // A run under way finishes before the database it uses is closed (bounded, like pg-boss's graceful stop).
      await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 10_000).unref())]);
    },
  };
}

/** Runs one job: logged either way, a failure counted and handed back, never thrown. */
export async function runCounted(spec: JobSpec, data: Record<string, unknown>, meta: Record<string, unknown> = {}): Promise<Error | null> {
  const started = Date.now();
  try {
    await spec.run(data);
    logger.info('job finished', { job: spec.name, ...meta, durationMs: Date.now() - started });
    return null;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    jobFailures.inc({ job: spec.name });
    logger.error('job failed', { job: spec.name, ...meta, durationMs: Date.now() - started, err: err.message });
    return err;
  }
}
