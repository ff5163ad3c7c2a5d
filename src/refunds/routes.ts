import Joi from 'joi';
import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import { courtTimeZone } from '../invoices/present';
import type { Queryable } from '../db';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { pageOf, withinCourts } from '../http/lists';
import type { Processor } from '../payments/processor';
import { actorOf, personOf } from '../auth/maker-checker';
import { historyPeople } from '../auth/history-people';
import { approveRefund, cancelRefund, rejectRefund } from './decide';
import { REFUND_REASONS, REFUND_REASON_CODES } from './reasons';
import { loadVisibleRefund, presentRefund, refundQuery, type RefundView } from './refund-store';
import { requestRefund, type RefundRequest } from './request';
import { submitRefund } from './submit';
import { REFUND_STATUSES } from './transitions';
import { overdueRefundSql } from './overdue';

const refundIdParam = Joi.object({ refundId: Joi.string().pattern(/^rf_[A-Za-z0-9]{1,40}$/).required() });
/** Today in the refund's own court: statutory due dates are that court's days. */
const today = (config: Readonly<Config>, courtCode: string) => courtToday(courtTimeZone(config, courtCode));

/** One refund with its history: who did what, when, with the processor's ids (from the audit trail). */
async function refundWithHistory(db: Queryable, config: Readonly<Config>, principal: Principal, id: string) {
  const r = await loadVisibleRefund(db, principal, id);
  const history = await db('audit_events').where({ entity_type: 'refund', entity_id: id }).orderBy('id').select('occurred_at', 'actor_type', 'actor_id', 'action', 'request_id', 'after');
  const people = await historyPeople(db, history);
  return {
    ...presentRefund(r, r, today(config, r.court_code)),
    history: history.map((h) => ({
      at: h.occurred_at,
      actor: `${h.actor_type}:${h.actor_id}`,
      person: people(h),
      action: h.action,
      requestId: h.request_id,
      status: h.after?.status ?? null,
      processorRefundId: h.after?.processorRefundId ?? null,
    })),
  };
}

interface ListQuery {
  status?: string;
  courtCode?: string;
  overdue?: boolean;
  paymentId?: string;
  limit: number;
  cursor?: string;
}

export function refundRoutes(processor: Processor): RouteDef[] {
  const submitAfterApproval = async (ctx: { db: Knex; config: Readonly<Config>; principal: Principal; params: { refundId: string } }) => {
    const r = await loadVisibleRefund(ctx.db, ctx.principal, ctx.params.refundId);
    await submitRefund(ctx.db, ctx.config, processor, r.id);
    return { status: 200, body: await refundWithHistory(ctx.db, ctx.config, ctx.principal, ctx.params.refundId) };
  };
  return [
    {
      method: 'get', path: '/v1/refund-reasons', summary: 'Refund reason codes and labels', tag: 'refunds', access: 'any_key', responses: { 200: json('{ data: [{ code, label: { zh, en }, noteRequired }] }', listOf(ref('RefundReason'), false)) },
      async read() {
        return { status: 200, body: { data: REFUND_REASON_CODES.map((code) => ({ code, label: REFUND_REASONS[code], noteRequired: code === 'other' })) } };
      },
    },
    {
      method: 'post', path: '/v1/payments/{paymentId}/refunds', summary: 'Request a refund (awaits approval by someone else)', tag: 'refunds', access: ['clerk'], sessions: true,
      params: Joi.object({ paymentId: Joi.string().pattern(/^pay_[A-Za-z0-9]{1,40}$/).required() }),
      body: Joi.object({
        amount: Joi.number().required().description('fen'),
        reasonCode: Joi.string().valid(...REFUND_REASON_CODES).required(),
        note: Joi.string().trim().max(1000),
        expectedRefundableAmount: Joi.number().integer().min(0),
      }),
      responses: { 201: json('the refund, requested', ref('RefundRequested')), 412: 'expectedRefundableAmount is stale' },
      async write({ params, body, principal, config }, tx) {
        const { row, payment, refundableAfter } = await requestRefund(tx, config, { publicId: params.paymentId }, body as RefundRequest, { requestedBy: actorOf(principal), person: personOf(principal), origin: 'clerk' }, principal);
        return { status: 201, body: { ...presentRefund(row, { payment_public_id: payment.public_id }, today(config, row.court_code)), refundableAfter } };
      },
    },
    {
      method: 'post', path: '/v1/refunds/{refundId}/approve', summary: 'Approve (not your own request) and submit to the processor', tag: 'refunds', access: ['approver'], sessions: true,
      params: refundIdParam, body: Joi.object({ note: Joi.string().trim().max(1000) }),
      responses: { 200: json('the refund, submitted (or settled)', ref('RefundWithHistory')) },
      async write({ params, body, principal, config }, tx) {
        const r = await approveRefund(tx, principal, params.refundId, (body as { note?: string }).note);
        return { status: 200, body: presentRefund(r, {}, today(config, r.court_code)) };
      },
      afterCommit: (ctx) => submitAfterApproval(ctx),
    },
    {
      method: 'post', path: '/v1/refunds/{refundId}/reject', summary: 'Reject a requested refund, with a note', tag: 'refunds', access: ['approver'], sessions: true,
      params: refundIdParam, body: Joi.object({ note: Joi.string().trim().min(1).max(1000).required() }),
      responses: { 200: json('the refund, rejected', ref('Refund')) },
      async write({ params, body, principal, config }, tx) {
        const r = await rejectRefund(tx, principal, params.refundId, (body as { note: string }).note);
        return { status: 200, body: presentRefund(r, {}, today(config, r.court_code)) };
      },
    },
    {
      method: 'post', path: '/v1/refunds/{refundId}/cancel', summary: 'Cancel a refund not yet submitted (its requester, or an approver)', tag: 'refunds', access: ['clerk', 'approver'], sessions: true,
      params: refundIdParam, body: Joi.object({ note: Joi.string().trim().max(1000) }),
      responses: { 200: json('the refund, cancelled', ref('Refund')), 409: 'the refund is submitting or later (it may have reached the processor): nothing changes' },
      async write({ params, body, principal, config }, tx) {
        const r = await cancelRefund(tx, principal, params.refundId, (body as { note?: string }).note);
        return { status: 200, body: presentRefund(r, {}, today(config, r.court_code)) };
      },
    },
    {
      method: 'get', path: '/v1/refunds/{refundId}', summary: 'One refund with its full history', tag: 'refunds', access: ['clerk', 'approver', 'finance'], sessions: true,
      params: refundIdParam, responses: { 200: json('the refund and its history', ref('RefundWithHistory')) },
      async read({ db, config, principal, params }) {
        return { status: 200, body: await refundWithHistory(db, config, principal, params.refundId) };
      },
    },
    {
      method: 'get', path: '/v1/refunds', summary: 'Search refunds: status, courtCode, overdue (statutory refunds past their due date)', tag: 'refunds', access: ['clerk', 'approver', 'finance'], sessions: true,
      query: Joi.object({
        status: Joi.string().valid(...REFUND_STATUSES),
        courtCode: Joi.string().max(10),
        overdue: Joi.boolean(),
        paymentId: Joi.string().max(60),
        limit: Joi.number().integer().min(1).max(500).default(50),
        cursor: Joi.string().max(200),
      }),
      responses: { 200: json('{ data: [refund], nextCursor }', listOf(ref('Refund'))) },
      async read({ db, config, principal, query }) {
        const f = query as ListQuery;
        const q = refundQuery(db);
        withinCourts(q, 'r.court_code', config, principal, f.courtCode);
        if (f.status) q.where('r.status', f.status);
        if (f.paymentId) q.where('p.public_id', f.paymentId);
        if (f.overdue !== undefined) {
          q.whereRaw(f.overdue ? overdueRefundSql('r') : `not ${overdueRefundSql('r')}`);
        }
        const { rows, nextCursor } = await pageOf<RefundView>(q, 'r.id', f);
        return { status: 200, body: { data: rows.map((r) => presentRefund(r, r, today(config, r.court_code))), nextCursor } };
      },
    },
  ];
}
