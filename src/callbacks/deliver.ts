import type { Knex } from 'knex';
import type { Config } from '../config';
import { logger } from '../shared/logger';
import { sendCallback, type AttemptResult } from './send';

interface Claimed {
  id: number;
  public_id: string;
  endpoint_id: number;
  payload: string;
  attempts: number;
  retries: number;
  url: string;
  /** The secrets that sign now: the current one and any still in their rotation overlap. */
  secrets: string[];
}

export interface DeliveryReport {
  claimed: number;
  delivered: number;
  retrying: number;
  dead: number;
}

/**
 * Claims due messages in one short statement. SKIP LOCKED lets any number of workers claim side by
 * side; the claim pushes next_attempt_at past the send timeout (a lease), so no other worker takes
 * the message while it is in flight, and a crashed sender's message simply comes due again.
 * Order per invoice: a message waits while an earlier one for the same endpoint and invoice is
 * still pending (a dead message no longer holds the ones after it back).
 */
const CLAIM_SQL = `
  with due as (
    select m.id from callback_messages m join callback_endpoints e on e.id = m.endpoint_id and e.enabled
     where m.status = 'pending' and m.next_attempt_at <= ?
       and not exists (select 1 from callback_messages p
                        where p.endpoint_id = m.endpoint_id and p.invoice_id = m.invoice_id and p.status = 'pending' and p.id < m.id)
     order by m.next_attempt_at, m.id
     limit ?
     for update of m skip locked
  )
  update callback_messages m set attempts = m.attempts + 1, next_attempt_at = ?, updated_at = now()
    from due, callback_endpoints e
   where m.id = due.id and e.id = m.endpoint_id
  returning m.id, m.public_id, m.endpoint_id, m.payload, m.attempts, m.retries, e.url,
    array(select s.secret from callback_endpoint_secrets s
           where s.endpoint_id = e.id and (s.expires_at is null or s.expires_at > ?) order by s.id desc) as secrets`;

/** Every attempt recorded, and the message moved on, in one statement; a stale claim changes nothing. */
const RECORD_SQL = `
  with v as (
    select * from jsonb_to_recordset(?::jsonb) as v(id bigint, attempt int, started_at timestamptz, status_code int, latency_ms int,
      error text, delivered boolean, status text, retries int, next_attempt_at timestamptz)
  ), attempts as (
    insert into callback_attempts (message_id, attempt, started_at, status_code, latency_ms, error, delivered)
    select id, attempt, started_at, status_code, latency_ms, error, delivered from v
  )
  update callback_messages m set status = v.status, retries = v.retries, next_attempt_at = v.next_attempt_at,
         last_status_code = v.status_code, last_error = v.error,
         delivered_at = case when v.delivered then v.started_at else m.delivered_at end,
         dead_at = case when v.status = 'dead' then now() else null end, updated_at = now()
    from v where m.id = v.id and m.attempts = v.attempt and m.status = 'pending'`;

/** The next state after an attempt: delivered, or the schedule's next wait, or dead after its last. */
function outcome(m: Claimed, r: AttemptResult, schedule: readonly number[], now: Date) {
  if (r.delivered) return { status: 'delivered', retries: m.retries, next_attempt_at: now };
  const retries = m.retries + 1;
  if (retries > schedule.length) return { status: 'dead', retries, next_attempt_at: now };
  return { status: 'pending', retries, next_attempt_at: new Date(now.getTime() + schedule[retries - 1] * 1000) };
}

/**
 * Delivers what is due now: claim a batch, send each (in parallel — a batch never holds two
 * messages of one invoice for one endpoint), record every attempt. `now` is for tests (a fake clock).
 */
export async function deliverDue(knex: Knex, config: Readonly<Config>, now: Date = new Date(), limit = config.callbacks.batchSize): Promise<DeliveryReport> {
  const c = config.callbacks;
  const { rows } = (await knex.raw(CLAIM_SQL, [now, limit, new Date(now.getTime() + c.timeoutMs + 60_000), now])) as { rows: Claimed[] };
  const report: DeliveryReport = { claimed: rows.length, delivered: 0, retrying: 0, dead: 0 };
  if (!rows.length) return report;
  const results = await Promise.all(rows.map((m) => sendCallback({ url: m.url, deliveryId: m.public_id, body: m.payload, secrets: m.secrets, timeoutMs: c.timeoutMs })));
  const sentAt = new Date(Math.max(now.getTime(), Date.now())); // retries wait from the end of the send
  const recorded = rows.map((m, i) => {
    const r = results[i];
    const next = outcome(m, r, c.retryScheduleSeconds, sentAt);
    report[next.status === 'delivered' ? 'delivered' : next.status === 'dead' ? 'dead' : 'retrying'] += 1;
    if (next.status === 'dead') logger.warn('callback message dead', { messageId: m.public_id, attempts: m.attempts, lastError: r.error });
    return { id: m.id, attempt: m.attempts, started_at: r.startedAt, status_code: r.statusCode, latency_ms: r.latencyMs, error: r.error, delivered: r.delivered, ...next };
  });
  await knex.raw(RECORD_SQL, [JSON.stringify(recorded)]);

  return report;
}

