import type { Queryable } from '../db';
import { currentContext } from '../shared/context';

export interface AuditInput {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Records who did what in the transaction that did it. The actor and request id come from the
 * request context unless an explicit actor ("type:id") is given (CLI, jobs).
 */
export async function recordAudit(tx: Queryable, input: AuditInput, actor?: string): Promise<void> {
  const ctx = currentContext();
  const [actorType, actorId] = actor ? splitActor(actor) : ctx?.actor ? [ctx.actor.type, ctx.actor.id] : ['system', 'courtpay'];
  await tx('audit_events').insert({
    actor_type: actorType,
    actor_id: actorId,
    action: input.action,
    entity_type: input.entityType,
    entity_id: input.entityId,
    request_id: ctx?.requestId ?? null,
    before: input.before === undefined ? null : JSON.stringify(input.before),
    after: input.after === undefined ? null : JSON.stringify(input.after),
  });
}

function splitActor(actor: string): [string, string] {
  const i = actor.indexOf(':');
  return i < 0 ? ['system', actor] : [actor.slice(0, i), actor.slice(i + 1)];
}
