import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { logger } from '../shared/logger';

/** What a runner's presence connection calls itself; `courtpay-jobs:<instance>` in pg_stat_activity. */
export const PRESENCE_PREFIX = 'courtpay-jobs:';
const RECONNECT_MS = 5_000;

export interface Presence {
  readonly instance: string;
  close(): Promise<void>;
}

/**
 * pg-boss 10 has no heartbeat, so a runner says it is alive the way Postgres can see: one
 * connection named after its instance id, held open for its lifetime. When the process dies, its
 * sessions end with it, and the runs it took can be told apart from runs of a live instance. A lost
 * connection is re-opened; while it is down another instance may take this one's runs for dead
 * (the run then fails here or completes as a no-op, and the next tick runs the job again).
 */
export async function startPresence(connectionString: string): Promise<Presence> {
  const instance = randomUUID();
  const url = withApplicationName(connectionString, `${PRESENCE_PREFIX}${instance}`);
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;

  const open = async () => {
    const c = new pg.Client({ connectionString: url });
    const lost = (why: string) => {
      if (closed || client !== c) return;
      client = null;
      logger.warn('job runner presence connection lost; reopening', { instance, err: why });
      c.end().catch(() => undefined);
      reopenSoon();
    };
    c.on('error', (e) => lost(e.message));
    c.on('end', () => lost('connection ended'));
    await c.connect();
    client = c;
  };
  const reopenSoon = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      open().catch((e: Error) => {
        logger.warn('job runner presence connection not reopened; retrying', { instance, err: e.message });
        reopenSoon();
      });
    }, RECONNECT_MS);
    retry.unref();
  };

  await open();
  return {
    instance,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}

/** A connection string's own application_name wins over the client's option, so it is set in the string. */
function withApplicationName(connectionString: string, name: string): string {
  const u = new URL(connectionString);
  u.searchParams.set('application_name', name);
  return u.toString();
}
