import type { Knex } from 'knex';
import type { Queryable } from '../db';
import { NotFoundError } from '../shared/errors';
import { assertCanSee, type Principal } from '../auth/principal';
import { shownPerson, type PersonSnapshot } from '../auth/maker-checker';
import type { RefundStatus } from './transitions';
import { isRefundOverdue } from './overdue';

export interface RefundRow {
  id: number;
  public_id: string;
  payment_id: number;
  invoice_id: number;
  court_code: string;
  amount: number;
  currency: string;
  reason_code: string;
  note: string | null;
  origin: 'clerk' | 'statutory';
  case_outcome_id: number | null;
  status: RefundStatus;
  requested_by: string;
  approved_by: string | null;
  approved_at: Date | null;
  decided_note: string | null;
  rejected_by: string | null;
  rejected_at: Date | null;
  cancelled_by: string | null;
  cancelled_at: Date | null;
  processor_refund_id: string | null;
  processor_status: string | null;
  submitted_at: Date | null;
  succeeded_at: Date | null;
  failed_at: Date | null;
  failure_reason: string | null;
  due_date: string | null;
  created_at: Date;
  updated_at: Date;
  /** The person behind each act (null: a machine key, the system, or not done). */
  requested_by_staff_id: number | null;
  approved_by_staff_id: number | null;
  rejected_by_staff_id: number | null;
  cancelled_by_staff_id: number | null;
  /** Each act's person as named when they acted. */
  people: Partial<Record<RefundAct, PersonSnapshot>>;
}

export type RefundAct = 'requested' | 'approved' | 'rejected' | 'cancelled';

export type RefundView = RefundRow & { payment_public_id: string; invoice_public_id: string; case_number: string };

export function refundQuery(db: Queryable) {
  return db('refunds as r')
    .join('payments as p', 'p.id', 'r.payment_id')
    .join('invoices as i', 'i.id', 'r.invoice_id')
    .join('cases as c', 'c.id', 'i.case_id')
    .select('r.*', 'p.public_id as payment_public_id', 'i.public_id as invoice_public_id', 'c.case_number');
}

export async function loadVisibleRefund(db: Queryable, principal: Principal, id: string): Promise<RefundView> {
  const row = (await refundQuery(db).where('r.public_id', id).first()) as RefundView | undefined;
  if (!row) throw new NotFoundError(`refund ${id}`);
  assertCanSee(principal, row.court_code, `refund ${id}`);
  return row;
}

export async function lockRefund(tx: Knex.Transaction, id: number): Promise<RefundRow> {
  return (await tx<RefundRow>('refunds').where({ id }).forUpdate().first())!;
}

export async function updateRefund(tx: Knex.Transaction, id: number, changes: Partial<RefundRow>): Promise<RefundRow> {
  const [row] = await tx<RefundRow>('refunds').where({ id }).update({ ...changes, updated_at: new Date() }).returning('*');
  return row;
}

export function presentRefund(r: RefundRow, v: Partial<Pick<RefundView, 'payment_public_id' | 'invoice_public_id' | 'case_number'>> = {}, today?: string) {
  return {
    id: r.public_id,
    paymentId: v.payment_public_id,
    invoiceId: v.invoice_public_id,
    caseNumber: v.case_number,
    courtCode: r.court_code,
    amount: r.amount,
    currency: r.currency,
    reasonCode: r.reason_code,
    note: r.note,
    origin: r.origin,
    status: r.status,
    dueDate: r.due_date,
    overdue: !!today && isRefundOverdue(r, today),
    requestedBy: r.requested_by,
    approvedBy: r.approved_by,
    approvedAt: r.approved_at,
    rejectedBy: r.rejected_by,
    rejectedAt: r.rejected_at,
    decisionNote: r.decided_note,
    cancelledBy: r.cancelled_by,
    cancelledAt: r.cancelled_at,
    requestedByPerson: shownPerson(r.people?.requested),
    approvedByPerson: shownPerson(r.people?.approved),
    rejectedByPerson: shownPerson(r.people?.rejected),
    cancelledByPerson: shownPerson(r.people?.cancelled),
    processorRefundId: r.processor_refund_id,
    processorStatus: r.processor_status,
    submittedAt: r.submitted_at,
    succeededAt: r.succeeded_at,
    failedAt: r.failed_at,
    failureReason: r.failure_reason,
    createdAt: r.created_at,
  };
}

/** Our refund behind a processor refund: by our id in its metadata, else by its id. */
export async function findRefund(db: Queryable, ref: { refundId?: string | null; processorRefundId?: string | null }): Promise<RefundRow | undefined> {
  if (ref.refundId) {
    const byOurs = await db<RefundRow>('refunds').where({ public_id: ref.refundId }).first();
    if (byOurs) return byOurs;
  }
  return ref.processorRefundId ? db<RefundRow>('refunds').where({ processor_refund_id: ref.processorRefundId }).first() : undefined;
}
