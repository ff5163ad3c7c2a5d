import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, ConflictError, ValidationError } from '../shared/errors';
import type { Reply } from './route';

/** An in-progress claim older than this is taken to be from a crashed request (its write rolled back). */
const STALE_AFTER_MS = 60_000;

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

/**
 * Claims the key for this request, backed by the unique (principal_id, key) constraint: the
 * insert either wins or tells us someone else holds or has completed the key.
 */
export async function beginIdempotent(knex: Knex, principalId: string, key: string, method: string, path: string, hash: string): Promise<Begin> {
  const inserted = await knex('idempotency_keys')
    .insert({ principal_id: principalId, key, method, path, request_hash: hash })
    .onConflict(['principal_id', 'key'])
    .ignore()
    .returning('id');
  if (inserted.length) return { kind: 'claimed', claim: { id: inserted[0].id } };

  const row = await knex('idempotency_keys').where({ principal_id: principalId, key }).first();
  if (!row) return beginIdempotent(knex, principalId, key, method, path, hash); // released meanwhile
  if (row.request_hash !== hash) {
    throw new ConflictError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
  if (row.status === 'completed') {
    return { kind: 'replay', reply: { status: row.response_status, body: row.response_body, headers: { 'idempotent-replayed': 'true' } } };
  }
  const staleBefore = new Date(Date.now() - STALE_AFTER_MS);
  const taken = await knex('idempotency_keys')
    .where({ id: row.id, status: 'in_progress' })
    .where('locked_at', '<', staleBefore)
    .update({ locked_at: knex.fn.now() })
    .returning('id');
  if (taken.length) return { kind: 'claimed', claim: { id: row.id } };
  throw new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed', 409);
}

export async function completeIdempotent(tx: Knex.Transaction, claim: Claim, reply: Reply): Promise<void> {
  await tx('idempotency_keys')
    .where({ id: claim.id })
    .update({ status: 'completed', response_status: reply.status, response_body: JSON.stringify(reply.body ?? null) });
}

/** The request failed and its transaction rolled back: free the key so a retry runs afresh. */
export async function releaseIdempotent(knex: Knex, claim: Claim): Promise<void> {
  await knex('idempotency_keys').where({ id: claim.id, status: 'in_progress' }).delete();
}
