import { canMove, REFUND_STATUSES, type RefundStatus } from './transitions';

/**
 * "Open" and "overdue" refunds, defined once for the API, the refund list filter and the
 * reconciliation. A refund is open while the transition table still leads it to succeeded: it may
 * yet pay the money back (one being submitted may already have reached the processor). Succeeded,
 * failed, rejected and cancelled refunds are not open. An open refund is overdue once its statutory
 * due date (a calendar day in its court's time zone) has passed.
 */
function leadsToSucceeded(from: RefundStatus, seen = new Set<RefundStatus>()): boolean {
  if (seen.has(from)) return false;
  seen.add(from);
  return REFUND_STATUSES.some((to) => canMove(from, to) && (to === 'succeeded' || leadsToSucceeded(to, seen)));
}

/** Derived from the transition table, so a status added there is classified without another list to keep. */
export const OPEN_REFUND_STATUSES: readonly RefundStatus[] = REFUND_STATUSES.filter((s) => s !== 'succeeded' && leadsToSucceeded(s));

export function isRefundOpen(status: RefundStatus): boolean {
  return OPEN_REFUND_STATUSES.includes(status);
}

/** `today`: the court's calendar day (YYYY-MM-DD) in its time zone. */
export function isRefundOverdue(r: { status: RefundStatus; due_date: string | null }, today: string): boolean {
  return isRefundOpen(r.status) && !!r.due_date && r.due_date < today;
}

/** SQL: the refund row `alias` is open (the list is our constants, never input). */
export function openRefundSql(alias = 'r'): string {
  return `${alias}.status in (${OPEN_REFUND_STATUSES.map((s) => `'${s}'`).join(', ')})`;
}

/** SQL: the refund row `alias` is overdue today in its court's time zone; never null. */
export function overdueRefundSql(alias = 'r'): string {
  return `coalesce(${openRefundSql(alias)} and ${alias}.due_date < (now() at time zone (select c.time_zone from courts c where c.code = ${alias}.court_code))::date, false)`;
}
