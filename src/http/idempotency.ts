import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import { logger } from '../shared/logger';
import { AppError, ConflictError, ValidationError } from '../shared/errors';
import type { Reply } from './route';

/** One request's Idempotency-Key, as the principal sent it, with what the request was. */
export interface IdempotentRequest {
  principalId: string;
  key: string;
  method: string;
  path: string;
  hash: string;
}

export interface Claim {
  id: number;
}

export type Begin = { kind: 'claimed'; claim: Claim } | { kind: 'replay'; reply: Reply };

export function requestHash(method: string, path: string, body: unknown): string {
  return crypto.createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(v as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

export function checkKey(key: string): void {
  if (key.length < 1 || key.length > 255) throw ValidationError.field('Idempotency-Key', 'must be 1 to 255 characters', 'invalid_idempotency_key');
}

export function idempotentRequest(principalId: string, key: string, method: string, path: string, body: unknown): IdempotentRequest {
  checkKey(key);
  return { principalId, key, method, path, hash: requestHash(method, path, body) };
}

const inProgress = () => new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed', 409);

/**
 * Claims the key as the first write of the request's own transaction, so the claim commits with
 * the write or vanishes with it: a request that fails, is cut from the database or dies with its
 * process leaves nothing behind to wait out. A second request with the key meets the uncommitted
 * claim at the unique (principal_id, key) constraint and waits for its outcome, up to waitMs
 * (then 409 idempotency_in_progress): the first commits → the answer is replayed; it rolls back →
 * the second runs afresh.
 */
export async function claimIdempotent(tx: Knex.Transaction, r: IdempotentRequest, waitMs: number): Promise<Begin> {
  const { rows } = await tx.raw(`select current_setting('lock_timeout') as previous, set_config('lock_timeout', ?, true)`, [`${waitMs}ms`]);
  try {
    return await claimOrReplay(tx, r);
  } catch (e) {
    if ((e as { code?: string }).code === '55P03') throw inProgress(); // lock_not_available: still running after waitMs
    throw e;
  } finally {
    if (!tx.isCompleted()) await tx.raw(`select set_config('lock_timeout', ?, true)`, [rows[0].previous]).catch(() => undefined);
  }
}

async function claimOrReplay(tx: Knex.Transaction, r: IdempotentRequest): Promise<Begin> {
  for (;;) {
    const inserted = await tx('idempotency_keys')
      .insert({ principal_id: r.principalId, key: r.key, method: r.method, path: r.path, request_hash: r.hash })
      .onConflict(['principal_id', 'key'])
      .ignore()
      .returning('id');
    if (inserted.length) return { kind: 'claimed', claim: { id: inserted[0].id } };

    const row = await tx('idempotency_keys').where({ principal_id: r.principalId, key: r.key }).first();
    if (!row) continue; // purged meanwhile
    if (row.request_hash !== r.hash) {
      throw new ConflictError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    if (row.status === 'completed') {
      return { kind: 'replay', reply: { status: row.response_status, body: row.response_body, headers: { 'idempotent-replayed': 'true' } } };
    }
    // A committed claim that never completed: only the previous version committed claims apart from
    // their write, and left them behind when its release could not run. Nobody holds it: take it over.
    const taken = await tx('idempotency_keys').where({ id: row.id, status: 'in_progress' }).update({ locked_at: tx.fn.now(), created_at: tx.fn.now() }).returning('id');
    if (taken.length) return { kind: 'claimed', claim: { id: row.id } };
  }
}

/** A body with the fields that are shown once (signing secrets) blanked, as it may be stored and replayed. */
export function redactShownOnce(body: unknown, shownOnce: readonly string[] = []): unknown {
  if (!shownOnce.length || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of shownOnce) if (field in out) out[field] = null;
  return out;
}

/**
 * Records the answer in the write's transaction. Fields shown once are stored blanked (null), so a
 * replay answers the same status and body without the secret, and no secret rests in this table.
 */
export async function completeIdempotent(tx: Knex.Transaction, claim: Claim, reply: Reply, shownOnce?: readonly string[]): Promise<void> {
  await tx('idempotency_keys')
    .where({ id: claim.id })
    .update({ status: 'completed', response_status: reply.status, response_body: JSON.stringify(redactShownOnce(reply.body ?? null, shownOnce)) });
}

/**
 * Forgets records older than the TTL (a retry after that runs afresh), in batches so no one
 * statement holds many rows. Returns how many were removed.
 */
export async function purgeIdempotencyRecords(knex: Knex, ttlHours: number, batch = 5000): Promise<number> {
  const before = new Date(Date.now() - ttlHours * 3600_000);
  let purged = 0;
  for (;;) {
    // The outer condition is checked again on a row a request changed meanwhile (a claim taken over).
    const n = await knex('idempotency_keys')
      .where('created_at', '<', before)
      .whereIn('id', knex('idempotency_keys').select('id').where('created_at', '<', before).limit(batch))
      .delete();
    purged += n;
    if (n < batch) return purged;
  }
}

/** The hourly purge of idempotency records older than idempotency.ttlHours. */
export function idempotencyJobs(knex: Knex, config: Readonly<Config>): JobSpec[] {
  return [
    {
      name: 'idempotency-purge',
      cron: config.idempotency.purgeCron,
      expireInSeconds: 15 * 60,
      run: async () => {
        const purged = await purgeIdempotencyRecords(knex, config.idempotency.ttlHours);
        if (purged) logger.info('idempotency records purged', { purged, ttlHours: config.idempotency.ttlHours });
      },
    },
  ];
}
