import { shownPerson, type PersonSnapshot } from '../auth/maker-checker';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import { deriveStatus, isOverdue, outstanding, type InvoiceMoney } from './status';

export interface InvoiceRow {
  id: number;
  public_id: string;
  case_id: number;
  court_code: string;
  fee_kind: string;
  stage: string;
  payer: { name: string; role: string; type?: string; email?: string; phone?: string };
  basis: Record<string, unknown>;
  schedule_version: string | null;
  breakdown: unknown[];
  statutory_amount: number;
  amount_due: number;
  paid_amount: number;
  refunded_amount: number;
  currency: string;
  status: string;
  notice_date: string;
  due_date: string;
  payment_token: string;
  cancelled_at: Date | null;
  cancel_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface RemissionRow {
  id: number;
  invoice_id: number;
  kind: string;
  decision_ref: string;
  decided_by: string;
  decided_at: string;
  reduction_percent: number | null;
  new_due_date: string | null;
  amount_due_before: number;
  amount_due_after: number;
  created_at: Date;
  public_id: string;
  /** pending: entered by a person, awaiting a second person (the amount due unchanged); approved: applied; rejected: never applied. */
  status: 'pending' | 'approved' | 'rejected';
  entered_by: string | null;
  entered_by_staff_id: number | null;
  approved_by: string | null;
  approved_by_staff_id: number | null;
  approved_at: Date | null;
  rejected_by: string | null;
  rejected_by_staff_id: number | null;
  rejected_at: Date | null;
  decision_note: string | null;
  /** Each act's person as named when they acted. */
  people: Partial<Record<'entered' | 'approved' | 'rejected', PersonSnapshot>>;
}

export function money(row: Pick<InvoiceRow, 'amount_due' | 'paid_amount' | 'refunded_amount' | 'status'>): InvoiceMoney {
  return { amountDue: row.amount_due, paid: row.paid_amount, refunded: row.refunded_amount, cancelled: row.status === 'cancelled' };
}

export function paymentUrl(config: Readonly<Config>, token: string): string {
  return `${config.publicBaseUrl.replace(/\/$/, '')}/pay/${token}`;
}

export function courtTimeZone(config: Readonly<Config>, code: string): string {
  return config.courts.find((c) => c.code === code)?.timeZone ?? 'Asia/Shanghai';
}

/** The invoice as the API shows it. Internal ids never leave; the token only as the payment link. */
export function presentInvoice(config: Readonly<Config>, row: InvoiceRow, caseNumber: string, remissions: RemissionRow[] = [], today?: string) {
  return { ...presentInvoiceSummary(config, row, caseNumber, today), basis: row.basis, breakdown: row.breakdown, remissions: remissions.map(presentRemission) };
}

export type SummaryRow = Omit<InvoiceRow, 'basis' | 'breakdown' | 'case_id' | 'cancel_reason' | 'updated_at'> & { cancel_reason?: string | null };

/** What lists and the case's fee status show of each invoice (no breakdown, basis or remissions). */
export function presentInvoiceSummary(config: Readonly<Config>, row: SummaryRow, caseNumber: string, today?: string) {
  const m = money(row);
  return {
    id: row.public_id,
    caseNumber,
    courtCode: row.court_code,
    feeKind: row.fee_kind,
    stage: row.stage,
    payer: row.payer,
    amount: row.amount_due,
    statutoryAmount: row.statutory_amount,
    currency: row.currency,
    scheduleVersion: row.schedule_version,
    status: deriveStatus(m),
    overdue: isOverdue(m, row.due_date, today ?? courtToday(courtTimeZone(config, row.court_code))),
    paidAmount: row.paid_amount,
    refundedAmount: row.refunded_amount,
    outstanding: outstanding(m),
    noticeDate: row.notice_date,
    dueDate: row.due_date,
    paymentUrl: paymentUrl(config, row.payment_token),
    createdAt: row.created_at,
    cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason ?? null,
  };
}

export function presentRemission(r: RemissionRow) {
  return {
    kind: r.kind,
    decisionRef: r.decision_ref,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    reductionPercent: r.reduction_percent,
    newDueDate: r.new_due_date,
    amountBefore: r.amount_due_before,
    amountAfter: r.amount_due_after,
    recordedAt: r.created_at,
    id: r.public_id,
    status: r.status,
    enteredBy: r.entered_by,
    enteredByPerson: shownPerson(r.people?.entered),
    approvedBy: r.approved_by,
    approvedByPerson: shownPerson(r.people?.approved),
    approvedAt: r.approved_at ? new Date(r.approved_at) : null,
    rejectedBy: r.rejected_by,
    rejectedByPerson: shownPerson(r.people?.rejected),
    rejectedAt: r.rejected_at ? new Date(r.rejected_at) : null,
    approvalNote: r.decision_note,
  };
}
