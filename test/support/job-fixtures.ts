import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import PgBoss from 'pg-boss';
import winston from 'winston';
import { logger } from '../../src/shared/logger';
import { api } from './builders';
import { testEnv } from './env';

/**
 * Job fixtures: log capture, the /metrics counters, and for pg-boss a schema of the test's own with
 * a clock that sends the ticks pg-boss's cron would, when the test wants them.
 */

/** A cron that does not come round during a test: its ticks are sent by the test's own clock. */
export const NEVER = '0 0 1 1 *';
export const rnd = () => crypto.randomBytes(4).toString('hex');

type LogLine = Record<string, unknown> & { message: string };

export function captureLogs() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(JSON.parse(c.toString()));
      cb();
    },
  });
  const transport = new winston.transports.Stream({ stream });
  const level = logger.level;
  logger.level = 'info';
  logger.add(transport);
  return {
    lines,
    of: (message: string, job: string) => lines.filter((l) => l.message === message && l.job === job),
    stop() {
      logger.remove(transport);
      logger.level = level;
    },
  };
}

/** A counter's value for a job, as /metrics shows it. */
export async function counted(metric: string, job: string): Promise<number> {
  const text = (await api().get('/metrics').expect(200)).text;
  const m = text.match(new RegExp(`^${metric}\\{job="${job}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A pg-boss schema for one test (dropped after it), and the clock that sends its ticks. */
export async function aJobQueueSchema(): Promise<{ url: string; schema: string; clock: PgBoss; drop(): Promise<void> }> {
  const url = testEnv().config.db.url!;
  const schema = `test_pgboss_${process.pid}_${rnd()}`;
  const clock = new PgBoss({ connectionString: url, schema, supervise: false, schedule: false });
  clock.on('error', () => undefined);
  await clock.start();
  return {
    url,
    schema,
    clock,
    async drop() {
      await clock.stop({ graceful: false });
      await testEnv().knex.raw('drop schema if exists ?? cascade', [schema]);
    },
  };
}
