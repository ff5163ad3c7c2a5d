import Joi from 'joi';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { isoDate } from '../http/validate';
import { listAuditEvents, type AuditFilter } from './events';

const typedRef = Joi.string().trim().max(300).pattern(/^[a-z][a-z_]{0,63}(:.+)?$/).messages({ 'string.pattern.base': '{{#label}} must be a type or type:id, e.g. refund or refund:rf_…' });
const when = Joi.alternatives(isoDate(), Joi.string().isoDate().max(40));

/** The trail (admin, finance), court-scoped. */
export const auditRoutes: RouteDef[] = [
  {
    method: 'get', path: '/v1/audit-events', summary: 'The audit trail, newest first: filter by entity, actor, action, court and time (court-scoped)', tag: 'audit', access: ['admin', 'finance'],
    query: Joi.object({
      entity: typedRef,
      actor: typedRef,
      action: Joi.string().trim().max(200).pattern(/^[a-z][a-z0-9_.]*(\.\*)?$/).messages({ 'string.pattern.base': '{{#label}} must be an action (refund.approved) or a family of them (refund.*)' }),
      courtCode: Joi.string().max(10),
      from: when,
      to: when,
      limit: Joi.number().integer().min(1).max(500).default(50),
      cursor: Joi.string().max(200),
    }),
    responses: { 200: json('{ data: [{ id, occurredAt, courtCode, actor: { type, id }, action, entity: { type, id }, requestId, before, after, chain: { name, seq, hash } }], nextCursor }', listOf(ref('AuditEvent'))) },
    async read({ db, config, principal, query }) {
      return { status: 200, body: await listAuditEvents(db, config, principal, query as AuditFilter) };
    },
  },
];
