import type { Knex } from 'knex';
import type { Config } from '../config';
import { logger } from '../shared/logger';
import { destinationsFor, REFUSED_BY_POLICY, type Destinations } from './destinations';
import { sendCallback, type AttemptResult } from './send';

/** One claimed message: the head of its chain (pos 0) or a later message of the same endpoint and invoice. */
export interface Claimed {
  id: number;
  public_id: string;
  endpoint_id: number;
  invoice_id: number;
  payload: string;
  attempts: number;
  retries: number;
  /** The chain's head message id, and this message's place in the chain (0 = the head). */
  head: number;
  pos: number;
  /** Where the chain goes and the secrets that sign now (the current one and any still in their rotation overlap): on its head only (pos 0). */
  url: string | null;
  secrets: string[] | null;
}

export interface DeliveryReport {
  claimed: number;
  delivered: number;
  retrying: number;
  dead: number;
}

/** What the next statement writes back for a claimed message: an attempt, or a release (claimed, never sent). */
export interface Recorded {
  id: number;
  endpoint_id: number;
  invoice_id: number;
  attempt: number;
  released: boolean;
  started_at: Date | null;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  delivered: boolean;
  status: 'pending' | 'delivered' | 'dead';
  retries: number;
  next_attempt_at: Date;
}

/** Longest run of one invoice's messages claimed together (and sent one after another, in order). */
export const MAX_CHAIN = 10;

/**
 * Every attempt recorded, and each message moved on, in one statement; a stale claim changes
 * nothing (m.attempts no longer matches). A released message (claimed behind one that failed, or
 * when the worker stopped) gets its claim undone without an attempt. A message that will be retried
 * pushes the due time of its invoice's later messages to its own: they cannot go before it anyway,
 * and so they do not sit at the head of the due index to be stepped over by every claim.
 */
const RECORD_CTES = `
  v as (
    select * from jsonb_to_recordset(?::jsonb) as v(id bigint, endpoint_id bigint, invoice_id bigint, attempt int, released boolean,
      started_at timestamptz, status_code int, latency_ms int, error text, delivered boolean, status text, retries int, next_attempt_at timestamptz)
  ), attempts_in as (
    insert into callback_attempts (message_id, attempt, started_at, status_code, latency_ms, error, delivered)
    select id, attempt, started_at, status_code, latency_ms, error, delivered from v where not v.released
  ), recorded as (
    update callback_messages m set status = v.status, retries = v.retries, next_attempt_at = v.next_attempt_at,
           attempts = case when v.released then m.attempts - 1 else m.attempts end,
           last_status_code = case when v.released then m.last_status_code else v.status_code end,
           last_error = case when v.released then m.last_error else v.error end,
           delivered_at = case when v.delivered then v.started_at else m.delivered_at end,
           dead_at = case when v.status = 'dead' then now() else null end, updated_at = now()
      from v where m.id = v.id and m.attempts = v.attempt and m.status = 'pending'
    returning m.id
  ), deferred as (
    update callback_messages f set next_attempt_at = v.next_attempt_at, updated_at = now()
      from v where not v.released and v.status = 'pending'
       and f.endpoint_id = v.endpoint_id and f.invoice_id = v.invoice_id and f.id > v.id and f.status not in ('delivered', 'dead')
       and f.next_attempt_at < v.next_attempt_at
       and not exists (select 1 from v w where w.id = f.id)
  )`;

/**
 * Claims due chains in the same statement. A head is a due message with no earlier pending message
 * for its endpoint and invoice (a dead message no longer holds the ones after it back; one in flight
 * or waiting for a retry does). With it come the invoice's next due messages, up to MAX_CHAIN and
 * never past one that is not due: the worker sends a chain in order, one after another, so one
 * claim takes a whole backlog of an invoice and later messages are never stepped over by the next
 * claim. SKIP LOCKED lets any number of workers claim side by side (a later message of a chain can
 * only be claimed through its head, which is locked); the claim pushes next_attempt_at past the
 * sends before it and its own timeout (a lease), so no other worker takes a message while it is in
 * flight, and a crashed sender's message simply comes due again.
 * The per-invoice lookups say `status not in ('delivered', 'dead')` (= pending) so that only
 * callback_messages_chain_idx answers them: with `status = 'pending'` a fresh, not yet analysed
 * table made the planner walk the endpoint's whole backlog per candidate instead (2 s per claim at
 * 10k pending; migration 20261125050000). `m.id not in (select v.id from v)` is planned as one
 * hashed subplan; `not exists` rescanned the written-back rows for every candidate head (15 ms of a
 * 40 ms round trip with 200 written back and 200 claimed).
 */
const CLAIM_CTES = `
  heads as (
    select m.id, m.endpoint_id, m.invoice_id, m.next_attempt_at
      from callback_messages m join callback_endpoints e on e.id = m.endpoint_id and e.enabled
     where m.status = 'pending' and m.next_attempt_at <= ?::timestamptz
       and not exists (select 1 from callback_messages p
                        where p.endpoint_id = m.endpoint_id and p.invoice_id = m.invoice_id and p.id < m.id and p.status not in ('delivered', 'dead'))
       and m.id not in (select v.id from v)
     order by m.next_attempt_at, m.id
     limit ?
     for update of m skip locked
  ), chains as (
    select h.id as head, h.next_attempt_at as head_due, f.id, f.attempts,
           (row_number() over (partition by h.id order by f.id) - 1)::int as pos,
           bool_and(f.next_attempt_at <= ?::timestamptz) over (partition by h.id order by f.id) as contiguous
      from heads h cross join lateral (
        select f.id, f.attempts, f.next_attempt_at from callback_messages f
         where f.endpoint_id = h.endpoint_id and f.invoice_id = h.invoice_id and f.id >= h.id and f.status not in ('delivered', 'dead')
         order by f.id
         limit ${MAX_CHAIN}) f
  ), picked as (
    select c.*, row_number() over (order by c.head_due, c.head, c.pos) as n from chains c where c.contiguous
  ), claimed as (
    update callback_messages m set attempts = m.attempts + 1, updated_at = now(),
           next_attempt_at = ?::timestamptz + (p.pos + 1) * ?::int * interval '1 millisecond' + interval '60 seconds'
      from picked p
     where m.id = p.id and p.n <= ? and m.status = 'pending' and m.attempts = p.attempts
       and not exists (select 1 from v where v.id = m.id)
    returning m.id, m.public_id, m.endpoint_id, m.invoice_id, m.payload, m.attempts, m.retries, p.head, p.pos
  )
  select c.*, case when c.pos = 0 then e.url end as url,
         case when c.pos = 0 then array(select s.secret from callback_endpoint_secrets s
                where s.endpoint_id = e.id and (s.expires_at is null or s.expires_at > ?::timestamptz) order by s.id desc) end as secrets
    from claimed c join callback_endpoints e on e.id = c.endpoint_id
   order by c.head, c.pos`;

const RECORD_AND_CLAIM_SQL = `with ${RECORD_CTES}, ${CLAIM_CTES}`;
const RECORD_SQL = `with ${RECORD_CTES} select count(*)::int as n from recorded`;

/** Anything that runs a raw statement: knex, or a connection of its pool. */
export type Runner = Pick<Knex, 'raw'>;

export interface ClaimRequest {
  now: Date;
  /** At most this many messages. */
  limit: number;
  /** At most this many chains (each one or more messages). */
  heads: number;
  timeoutMs: number;
}

/**
 * One round trip: write back `records` (attempts and releases) and, when `claim` is given, claim
 * the next due chains. The claim sees the table as it was before the write-back in the same
 * statement (one snapshot), which is harmless: a message just recorded was leased, so not due.
 */
export async function recordAndClaim(db: Runner, records: readonly Recorded[], claim: ClaimRequest | null): Promise<Claimed[]> {
  const json = JSON.stringify(records);
  if (!claim || claim.limit <= 0) {
    if (records.length) await db.raw(RECORD_SQL, [json]);
    return [];
  }
  const { now, limit, heads, timeoutMs } = claim;
  const { rows } = (await db.raw(RECORD_AND_CLAIM_SQL, [json, now, Math.max(1, Math.min(heads, limit)), now, now, timeoutMs, limit, now])) as { rows: Claimed[] };
  return rows;
}

/** The next state after an attempt: delivered, or the schedule's next wait, or dead after its last. */
function outcome(m: Claimed, r: AttemptResult, schedule: readonly number[], now: Date) {
  if (r.delivered) return { status: 'delivered' as const, retries: m.retries, next_attempt_at: now };
  const retries = m.retries + 1;
  if (retries > schedule.length) return { status: 'dead' as const, retries, next_attempt_at: now };
  return { status: 'pending' as const, retries, next_attempt_at: new Date(now.getTime() + schedule[retries - 1] * 1000) };
}

/** A claimed message given back unsent: its claim undone, due at `due`. */
export function releaseOf(m: Claimed, due: Date): Recorded {
  return {
    id: m.id, endpoint_id: m.endpoint_id, invoice_id: m.invoice_id, attempt: m.attempts, released: true, started_at: null, status_code: null,
    latency_ms: null, error: null, delivered: false, status: 'pending', retries: m.retries, next_attempt_at: due,
  };
}

/** Groups claimed rows into chains, each in order; a chain with a gap (a message taken meanwhile by a replay) ends before it. */
export function chainsOf(rows: readonly Claimed[], now: Date): { chains: Claimed[][]; releases: Recorded[] } {
  const byHead = new Map<number, Claimed[]>();
  for (const r of rows) {
    const c = byHead.get(r.head);
    if (c) c.push(r);
    else byHead.set(r.head, [r]);
  }
  const chains: Claimed[][] = [];
  const releases: Recorded[] = [];
  for (const c of byHead.values()) {
    c.sort((a, b) => a.pos - b.pos);
    let k = 0;
    while (k < c.length && c[k].pos === k) k += 1;
    if (k) chains.push(c.slice(0, k));
    for (const m of c.slice(k)) releases.push(releaseOf(m, now));
  }
  return { chains, releases };
}

export interface ChainCounts {
  delivered: number;
  retrying: number;
  dead: number;
}

/**
 * Sends one chain in order: each message after the one before it has finished. A message that
 * will be retried holds the rest back (released, due with it); a dead one does not. `stopping`
 * releases the rest at once (the worker is shutting down). Every send is checked against the
 * config's destination policy (`destinations`; tests give one with a stub resolver).
 */
export async function sendChain(
  chain: readonly Claimed[], config: Readonly<Config>, startedAt: Date, counts: ChainCounts, stopping: () => boolean = () => false,
  destinations: Destinations = destinationsFor(config),
): Promise<Recorded[]> {
  const c = config.callbacks;
  const out: Recorded[] = [];
  const url = chain[0].url ?? '';
  const secrets = chain[0].secrets ?? [];
  for (let i = 0; i < chain.length; i += 1) {
    const m = chain[i];
    if (i > 0 && stopping()) {
      for (const rest of chain.slice(i)) out.push(releaseOf(rest, new Date()));
      break;
    }
    const r = await sendCallback({ url, deliveryId: m.public_id, body: m.payload, secrets, timeoutMs: c.timeoutMs }, destinations);
    if (r.detail) logger[r.error === REFUSED_BY_POLICY ? 'warn' : 'info']('callback not delivered', { messageId: m.public_id, endpointId: m.endpoint_id, error: r.error, reason: r.detail });
    const sentAt = new Date(Math.max(startedAt.getTime(), Date.now())); // retries wait from the end of the send
    const next = outcome(m, r, c.retryScheduleSeconds, sentAt);
    counts[next.status === 'delivered' ? 'delivered' : next.status === 'dead' ? 'dead' : 'retrying'] += 1;
    if (next.status === 'dead') logger.warn('callback message dead', { messageId: m.public_id, attempts: m.attempts, lastError: r.error });
    out.push({
      id: m.id, endpoint_id: m.endpoint_id, invoice_id: m.invoice_id, attempt: m.attempts, released: false, started_at: r.startedAt,
      status_code: r.statusCode, latency_ms: r.latencyMs, error: r.error, delivered: r.delivered, ...next,
    });
    if (next.status === 'pending') {
      for (const rest of chain.slice(i + 1)) out.push(releaseOf(rest, next.next_attempt_at));
      break;
    }
  }
  return out;
}

/**
 * Delivers what is due now: claim up to `limit` chains (each an invoice's due messages, in order),
 * send the chains in parallel — each in order — and record every attempt. `now` is for tests (a
 * fake clock), and so is `destinations` (the production policy with a stub resolver). The worker
 * (worker.ts) runs the same steps as a pipeline instead.
 */
export async function deliverDue(
  knex: Knex, config: Readonly<Config>, now: Date = new Date(), limit = config.callbacks.batchSize, destinations: Destinations = destinationsFor(config),
): Promise<DeliveryReport> {
  const rows = await recordAndClaim(knex, [], { now, limit: limit * MAX_CHAIN, heads: limit, timeoutMs: config.callbacks.timeoutMs });
  const counts: ChainCounts = { delivered: 0, retrying: 0, dead: 0 };
  if (!rows.length) return { claimed: 0, ...counts };
  const { chains, releases } = chainsOf(rows, now);
  const sent = await Promise.all(chains.map((chain) => sendChain(chain, config, now, counts, () => false, destinations)));
  await recordAndClaim(knex, [...releases, ...sent.flat()], null);
  return { claimed: rows.length, ...counts };
}
