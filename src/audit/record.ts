import type { Queryable } from '../db';
import { currentContext } from '../shared/context';

export interface AuditInput {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

/** The audit row for an input, actor and request id from the request context unless an explicit actor is given. */
export function auditRow(input: AuditInput, actor?: string) {
  const ctx = currentContext();
  const [actorType, actorId] = actor ? splitActor(actor) : ctx?.actor ? [ctx.actor.type, ctx.actor.id] : ['system', 'courtpay'];
  return {
    actor_type: actorType,
    actor_id: actorId,
    action: input.action,
    entity_type: input.entityType,
    entity_id: input.entityId,
    request_id: ctx?.requestId ?? null,
    before: input.before === undefined ? null : JSON.stringify(input.before),
    after: input.after === undefined ? null : JSON.stringify(input.after),
  };
}
export type AuditRow = ReturnType<typeof auditRow>;

/**
 * Records who did what in the transaction that did it. The actor and request id come from the
 * request context unless an explicit actor ("type:id") is given (CLI, jobs).
 */
export async function recordAudit(tx: Queryable, input: AuditInput, actor?: string): Promise<void> {
  await tx('audit_events').insert(auditRow(input, actor));
}

function splitActor(actor: string): [string, string] {
  const i = actor.indexOf(':');
  return i < 0 ? ['system', actor] : [actor.slice(0, i), actor.slice(i + 1)];
}
