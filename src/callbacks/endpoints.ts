import type { Knex } from 'knex';
import { publicId, randomBase62 } from '../auth/keys';
import { assertCourtInScope, courtFilter, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import type { Queryable } from '../db';
import { pageOf } from '../http/lists';
import { ForbiddenError } from '../shared/errors';
import { healthOf, loadVisibleEndpoint, presentEndpoint, scopeEndpoints, type EndpointRow } from './endpoint-store';
import { checkCallbackUrl } from './url-policy';

export interface EndpointInput {
  url: string;
  courtCodes: string[] | 'all';
  eventTypes: string[];
  description?: string;
  enabled?: boolean;
}

export type EndpointChanges = Partial<EndpointInput> & { enabled?: boolean };

function newSecret(): string {
  return `cbsec_${randomBase62(40)}`;
}

/** The courts an endpoint covers: known courts, each within the admin's own scope. */
function courtsFor(config: Readonly<Config>, principal: Principal, courtCodes: string[] | 'all') {
  if (courtCodes === 'all') {
    if (!principal.allCourts) throw new ForbiddenError('only an all-courts key may register an endpoint for all courts', 'court_out_of_scope');
    return { all_courts: true, court_codes: [] as string[] };
  }
  courtCodes.forEach((code, i) => {
    requireCourt(config, code, `courtCodes.${i}`);
    assertCourtInScope(principal, code);
  });
  return { all_courts: false, court_codes: [...new Set(courtCodes)].sort() };
}

/** Registers an endpoint; its signing secret is returned this once and never again. */
export async function createEndpoint(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, input: EndpointInput) {
  const [row] = await tx<EndpointRow>('callback_endpoints')
    .insert({
      public_id: publicId('cbe'),
      url: checkCallbackUrl(config, input.url),
      description: input.description ?? null,
      ...courtsFor(config, principal, input.courtCodes),
      event_types: [...new Set(input.eventTypes)],
      enabled: input.enabled ?? true,
      created_by: `api_key:${principal.keyId}`,
    })
    .returning('*');
  const secret = newSecret();
  await tx('callback_endpoint_secrets').insert({ endpoint_id: row.id, secret });
  const view = presentEndpoint(row);
  await recordAudit(tx, { action: 'callback_endpoint.created', entityType: 'callback_endpoint', entityId: row.public_id, after: view });
  return { ...view, secret };
}

export async function updateEndpoint(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, id: string, changes: EndpointChanges) {
  const before = await loadVisibleEndpoint(tx, principal, id, true);
  const patch: Partial<EndpointRow> = { updated_at: new Date() };
  if (changes.url !== undefined) patch.url = checkCallbackUrl(config, changes.url);
  if (changes.courtCodes !== undefined) Object.assign(patch, courtsFor(config, principal, changes.courtCodes));
  if (changes.eventTypes !== undefined) patch.event_types = [...new Set(changes.eventTypes)];
  if (changes.description !== undefined) patch.description = changes.description;
  if (changes.enabled !== undefined) patch.enabled = changes.enabled;
  const [after] = await tx<EndpointRow>('callback_endpoints').where({ id: before.id }).update(patch).returning('*');
  const view = presentEndpoint(after);
  await recordAudit(tx, { action: 'callback_endpoint.updated', entityType: 'callback_endpoint', entityId: id, before: presentEndpoint(before), after: view });
  return { ...view, health: (await healthOf(tx, [after.id], courtFilter(principal))).get(after.id) };
}

/**
 * A new secret, returned once. The secrets signing until now keep signing for
 * callbacks.secretOverlapHours, so the case system can switch over without a gap.
 */
export async function rotateSecret(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, id: string) {
  const e = await loadVisibleEndpoint(tx, principal, id, true);
  const overlapUntil = new Date(Date.now() + config.callbacks.secretOverlapHours * 3600_000);
  await tx('callback_endpoint_secrets').where({ endpoint_id: e.id }).where((b) => b.whereNull('expires_at').orWhere('expires_at', '>', overlapUntil)).update({ expires_at: overlapUntil });
  await tx('callback_endpoint_secrets').where({ endpoint_id: e.id }).where('expires_at', '<=', new Date()).delete();
  const secret = newSecret();
  await tx('callback_endpoint_secrets').insert({ endpoint_id: e.id, secret });
  await recordAudit(tx, { action: 'callback_endpoint.secret_rotated', entityType: 'callback_endpoint', entityId: id, after: { previousSecretsExpireAt: overlapUntil } });
  return { ...presentEndpoint(e), secret, previousSecretsExpireAt: overlapUntil };
}

export async function getEndpoint(db: Queryable, principal: Principal, id: string) {
  const e = await loadVisibleEndpoint(db, principal, id);
  return presentEndpoint(e, (await healthOf(db, [e.id], courtFilter(principal))).get(e.id));
}

export async function listEndpoints(db: Queryable, principal: Principal, f: { enabled?: boolean; limit: number; cursor?: string }) {
  const q = scopeEndpoints(db('callback_endpoints as e').select('e.*'), principal);
  if (f.enabled !== undefined) q.where('e.enabled', f.enabled);
  const { rows: page, nextCursor } = await pageOf<EndpointRow>(q, 'e.id', f);
  const health = await healthOf(db, page.map((e) => e.id), courtFilter(principal));
  return { data: page.map((e) => presentEndpoint(e, health.get(e.id))), nextCursor };
}
