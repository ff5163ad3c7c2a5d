import os from 'node:os';
import type PgBoss from 'pg-boss';
import { logger } from '../shared/logger';
import { abandonedJobsFailed } from './metrics';
import { PRESENCE_PREFIX } from './presence';

/** Who is running a job: written on its pg-boss row as it starts (pg-boss overwrites it with the result). */
export interface RunOwner {
  instance: string;
  pid: number;
  host: string;
  takenAt: string;
}

/** Marks an active run as this instance's, so that after a crash a live instance can tell it was abandoned. */
export async function markRunOwner(boss: PgBoss, schema: string, name: string, jobId: string, instance: string): Promise<void> {
  const owner: RunOwner = { instance, pid: process.pid, host: os.hostname(), takenAt: new Date().toISOString() };
  await boss.getDb().executeSql(`update "${schema}".job set output = $3::jsonb where name = $1 and id = $2 and state = 'active'`, [name, jobId, JSON.stringify({ owner })]);
}

/**
 * Fails the runs of these queues that are still active although the instance that took them has no
 * session left (killed, or its machine gone): under the singleton policy such a run would block
 * every later one until its expiry. A failed run is retried per the queue, and the next tick goes
 * ahead at once. A run with no owner written (taken in the instant before its owner was written,
 * or by an older version) is left to its expiry.
 */
export async function failAbandonedRuns(boss: PgBoss, schema: string, self: string, names: string[]): Promise<number> {
  if (!names.length) return 0;
  const { rows } = await boss.getDb().executeSql(
    `select j.id, j.name, j.started_on as "startedOn", j.output->'owner' as owner
       from "${schema}".job j
      where j.name = any($1::text[]) and j.state = 'active'
        and j.output->'owner'->>'instance' is not null and j.output->'owner'->>'instance' <> $2
        and not exists (select 1 from pg_stat_activity a where a.application_name = $3 || (j.output->'owner'->>'instance'))`,
    [names, self, PRESENCE_PREFIX],
  );
  for (const row of rows as { id: string; name: string; startedOn: Date; owner: RunOwner }[]) {
    await boss.fail(row.name, row.id, { message: `abandoned: instance ${row.owner.instance} (pid ${row.owner.pid} on ${row.owner.host}) is gone`, failedBy: self });
    abandonedJobsFailed.inc({ job: row.name });
    logger.warn('job run abandoned by an instance that is gone: failed, so the next run can start', {
      job: row.name, jobId: row.id, startedOn: new Date(row.startedOn).toISOString(), ownerInstance: row.owner.instance, ownerPid: row.owner.pid, ownerHost: row.owner.host,
    });
  }
  return rows.length;
}
