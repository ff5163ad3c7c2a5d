import type { Knex } from 'knex';
import { courtFilter, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { Queryable } from '../db';
import { pageOf } from '../http/lists';
import { ConflictError, NotFoundError } from '../shared/errors';
import { loadVisibleEndpoint, scopeEndpoints } from './endpoint-store';

export const MESSAGE_STATUSES = ['pending', 'delivered', 'dead'] as const;

interface MessageView {
  id: number;
  public_id: string;
  endpoint_public_id: string;
  invoice_public_id: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  dead_at: Date | null;
  created_at: Date;
  payload?: string;
}

function messageQuery(db: Queryable, principal: Principal) {
  const q = db('callback_messages as m')
    .join('callback_endpoints as e', 'e.id', 'm.endpoint_id')
    .join('invoices as i', 'i.id', 'm.invoice_id')
    .select('m.id', 'm.public_id', 'e.public_id as endpoint_public_id', 'i.public_id as invoice_public_id', 'm.type', 'm.status', 'm.attempts',
      'm.next_attempt_at', 'm.last_status_code', 'm.last_error', 'm.delivered_at', 'm.dead_at', 'm.created_at');
  return scopeMessages(scopeEndpoints(q, principal), principal);
}

/**
 * A message carries its invoice's court's data, whatever the endpoint covers now (an endpoint's
 * courts can be narrowed after it was sent other courts' messages): an admin scoped to some courts
 * sees, and replays, only messages about invoices of those courts.
 */
function scopeMessages(q: Knex.QueryBuilder, principal: Principal, invoiceAlias = 'i'): Knex.QueryBuilder {
  const courts = courtFilter(principal);
  return courts ? q.whereIn(`${invoiceAlias}.court_code`, courts) : q;
}

function present(m: MessageView) {
  return {
    id: m.public_id,
    endpointId: m.endpoint_public_id,
    invoiceId: m.invoice_public_id,
    type: m.type,
    status: m.status,
    attemptCount: m.attempts,
    nextAttemptAt: m.status === 'pending' ? m.next_attempt_at : null,
    lastStatusCode: m.last_status_code,
    lastError: m.last_error,
    deliveredAt: m.delivered_at,
    deadAt: m.dead_at,
    createdAt: m.created_at,
  };
}

export interface MessageFilter {
  endpointId?: string;
  status?: string;
  type?: string;
  limit: number;
  cursor?: string;
}

export async function listMessages(db: Queryable, principal: Principal, f: MessageFilter) {
  const q = messageQuery(db, principal);
  if (f.endpointId) q.where('e.public_id', f.endpointId);
  if (f.status) q.where('m.status', f.status);
  if (f.type) q.where('m.type', f.type);
  const { rows, nextCursor } = await pageOf<MessageView>(q, 'm.id', f);
  return { data: rows.map(present), nextCursor };
}

async function loadVisibleMessage(db: Queryable, principal: Principal, id: string, forUpdate = false): Promise<MessageView> {
  const q = messageQuery(db, principal).select('m.payload').where('m.public_id', id);
  if (forUpdate) q.forUpdate('m');
  const row = (await q.first()) as MessageView | undefined;
  if (!row) throw new NotFoundError(`callback message ${id}`);
  return row;
}

/** The message with its body (exactly as sent) and every attempt. */
export async function getMessage(db: Queryable, principal: Principal, id: string) {
  const m = await loadVisibleMessage(db, principal, id);
  const attempts = await db('callback_attempts').where({ message_id: m.id }).orderBy('attempt');
  return {
    ...present(m),
    body: JSON.parse(m.payload!),
    attempts: attempts.map((a) => ({ attempt: a.attempt, at: a.started_at, statusCode: a.status_code, latencyMs: a.latency_ms, error: a.error, delivered: a.delivered })),
  };
}

const REQUEUE = { status: 'pending', retries: 0, dead_at: null };

/** Sends a delivered or dead message again now, with the full retry schedule ahead of it. */
export async function replayMessage(tx: Knex.Transaction, principal: Principal, id: string) {
  const m = await loadVisibleMessage(tx, principal, id, true);
  if (m.status === 'pending') throw new ConflictError('callback_message_pending', `callback message ${id} is still queued (next attempt at ${new Date(m.next_attempt_at).toISOString()})`);
  await tx('callback_messages').where({ id: m.id }).update({ ...REQUEUE, next_attempt_at: tx.fn.now(), updated_at: tx.fn.now() });
  await recordAudit(tx, { action: 'callback_message.replayed', entityType: 'callback_message', entityId: id, before: { status: m.status } });
  return getMessage(tx, principal, id);
}

/** Every dead message of an endpoint (of the admin's courts) back in the queue, oldest first (they keep their order). */
export async function replayFailed(tx: Knex.Transaction, principal: Principal, endpointId: string) {
  const e = await loadVisibleEndpoint(tx, principal, endpointId, true);
  const mine = scopeMessages(tx('callback_messages as m').join('invoices as i', 'i.id', 'm.invoice_id').where({ 'm.endpoint_id': e.id, 'm.status': 'dead' }), principal).select('m.id');
  const replayed = await tx('callback_messages').whereIn('id', mine).update({ ...REQUEUE, next_attempt_at: tx.fn.now(), updated_at: tx.fn.now() });
  await recordAudit(tx, { action: 'callback_endpoint.replayed_failed', entityType: 'callback_endpoint', entityId: endpointId, after: { replayed } });
  return { endpointId, replayed };
}
