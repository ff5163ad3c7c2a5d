import type { Knex } from 'knex';
import { assertCourtInScope, courtFilter, type Principal } from '../auth/principal';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import { pageOf } from '../http/lists';
import { GLOBAL_CHAIN } from './chain-hash';

/**
 * The trail as finance and admins read it. A row's court is the court of its entity
 * (audit_events.court_code); a court-scoped key sees only its courts' rows, an all-courts key
 * every row, the ones of no court (keys, callback endpoints, staff) included.
 */
export interface AuditFilter {
  /** `type` or `type:id`, e.g. `refund` or `refund:rf_…`. */
  entity?: string;
  /** `type` or `type:id`, e.g. `api_key:key_…` or `processor`. */
  actor?: string;
  /** An action (`refund.approved`), or a family of them (`refund.*`). */
  action?: string;
  courtCode?: string;
  /** A court day (Asia/Shanghai) or an RFC 3339 instant; `to` as a day includes that whole day. */
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

interface AuditEventRow {
  id: number;
  occurred_at: Date;
  court_code: string | null;
  actor_type: string;
  actor_id: string;
  action: string;
  entity_type: string;
  entity_id: string;
  request_id: string | null;
  before: unknown;
  after: unknown;
  chain_seq: number;
  chain_hash: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ZONE = 'Asia/Shanghai';

/** `type` or `type:id` split at its first colon (ids may hold anything after it). */
function typed(q: Knex.QueryBuilder, value: string, typeColumn: string, idColumn: string): void {
  const i = value.indexOf(':');
  if (i < 0) return void q.where(typeColumn, value);
  q.where(typeColumn, value.slice(0, i)).where(idColumn, value.slice(i + 1));
}

function present(r: AuditEventRow) {
  const chain = r.court_code ?? GLOBAL_CHAIN;
  return {
    id: `aud_${chain}_${r.chain_seq}`,
    occurredAt: r.occurred_at,
    courtCode: r.court_code,
    actor: { type: r.actor_type, id: r.actor_id },
    action: r.action,
    entity: { type: r.entity_type, id: r.entity_id },
    requestId: r.request_id,
    before: r.before,
    after: r.after,
    chain: { name: chain, seq: r.chain_seq, hash: r.chain_hash },
  };
}

export async function listAuditEvents(db: Knex, config: Readonly<Config>, principal: Principal, f: AuditFilter) {
  const q = db('audit_events as a').select('a.id', 'a.occurred_at', 'a.court_code', 'a.actor_type', 'a.actor_id', 'a.action', 'a.entity_type', 'a.entity_id', 'a.request_id', 'a.before', 'a.after', 'a.chain_seq', db.raw(`encode(a.chain_hash, 'hex') as chain_hash`));
  if (f.courtCode) {
    requireCourt(config, f.courtCode);
    assertCourtInScope(principal, f.courtCode);
    q.where('a.court_code', f.courtCode);
  }
  const scope = courtFilter(principal);
  if (scope) q.whereIn('a.court_code', scope);
  if (f.entity) typed(q, f.entity, 'a.entity_type', 'a.entity_id');
  if (f.actor) typed(q, f.actor, 'a.actor_type', 'a.actor_id');
  if (f.action?.endsWith('.*')) q.where('a.action', 'like', `${f.action.slice(0, -2).replace(/[\\%_]/g, '\\$&')}.%`);
  else if (f.action) q.where('a.action', f.action);
  if (f.from) q.where('a.occurred_at', '>=', DAY.test(f.from) ? db.raw(`(?::date)::timestamp at time zone '${ZONE}'`, [f.from]) : new Date(f.from));
  if (f.to) DAY.test(f.to) ? q.where('a.occurred_at', '<', db.raw(`(?::date + 1)::timestamp at time zone '${ZONE}'`, [f.to])) : q.where('a.occurred_at', '<=', new Date(f.to));
  const { rows, nextCursor } = await pageOf<AuditEventRow>(q, 'a.id', f);
  return { data: rows.map(present), nextCursor };
}
