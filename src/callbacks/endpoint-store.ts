import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';
import type { Queryable } from '../db';
import { NotFoundError } from '../shared/errors';

export interface EndpointRow {
  id: number;
  public_id: string;
  url: string;
  description: string | null;
  all_courts: boolean;
  court_codes: string[];
  event_types: string[];
  enabled: boolean;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface EndpointHealth {
  pending: number;
  delivered: number;
  dead: number;
  lastDeliveredAt: Date | null;
  lastAttemptAt: Date | null;
  lastError: string | null;
}

/**
 * An admin scoped to some courts sees an endpoint only if every court it covers is in scope: the
 * endpoint's messages carry those courts' data. An all-courts endpoint needs an all-courts key.
 */
export function scopeEndpoints(q: Knex.QueryBuilder, principal: Principal, alias = 'e'): Knex.QueryBuilder {
  return principal.allCourts ? q : q.whereRaw(`not ${alias}.all_courts and ${alias}.court_codes <@ ?::text[]`, [[...principal.courts]]);
}

export async function loadVisibleEndpoint(db: Queryable, principal: Principal, publicId: string, forUpdate = false): Promise<EndpointRow> {
  const q = scopeEndpoints(db('callback_endpoints as e').where('e.public_id', publicId).select('e.*'), principal);
  if (forUpdate) q.forUpdate();
  const row = (await q.first()) as EndpointRow | undefined;
  if (!row) throw new NotFoundError(`callback endpoint ${publicId}`);
  return row;
}

/**
 * Delivery health of endpoints: message counts by status, the last delivery and the last failure;
 * with `courts`, of the messages about those courts' invoices only (what a court-scoped admin may see).
 */
export async function healthOf(db: Queryable, endpointIds: number[], courts: string[] | null = null): Promise<Map<number, EndpointHealth>> {
  const out = new Map<number, EndpointHealth>();
  for (const id of endpointIds) out.set(id, { pending: 0, delivered: 0, dead: 0, lastDeliveredAt: null, lastAttemptAt: null, lastError: null });
  if (!endpointIds.length) return out;
  const countsQ = db('callback_messages as m').whereIn('m.endpoint_id', endpointIds).groupBy('m.endpoint_id', 'm.status')
    .select('m.endpoint_id', 'm.status', db.raw('count(*)::int as n'), db.raw('max(m.delivered_at) as last_delivered'));
  if (courts) countsQ.join('invoices as i', 'i.id', 'm.invoice_id').whereIn('i.court_code', courts);
  const counts = await countsQ;
  for (const c of counts) {
    const h = out.get(c.endpoint_id)!;
    h[c.status as 'pending' | 'delivered' | 'dead'] = c.n;
    if (c.status === 'delivered') h.lastDeliveredAt = c.last_delivered;
  }
  const { rows } = await db.raw(
    `select distinct on (m.endpoint_id) m.endpoint_id, a.started_at, a.error, a.status_code, a.delivered
       from callback_attempts a join callback_messages m on m.id = a.message_id
      where m.endpoint_id = any(?)
        and (?::text[] is null or exists (select 1 from invoices i where i.id = m.invoice_id and i.court_code = any(?::text[])))
      order by m.endpoint_id, a.id desc`,
    [endpointIds, courts, courts],
  );
  for (const r of rows as { endpoint_id: number; started_at: Date; error: string | null; status_code: number | null; delivered: boolean }[]) {
    const h = out.get(r.endpoint_id)!;
    h.lastAttemptAt = r.started_at;
    h.lastError = r.delivered ? null : (r.error ?? `HTTP ${r.status_code}`);
  }
  return out;
}

export function presentEndpoint(e: EndpointRow, health?: EndpointHealth) {
  return {
    id: e.public_id,
    url: e.url,
    description: e.description,
    courtCodes: e.all_courts ? ('all' as const) : e.court_codes,
    eventTypes: e.event_types,
    enabled: e.enabled,
    createdAt: e.created_at,
    updatedAt: e.updated_at,
    ...(health ? { health } : {}),
  };
}
