import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { publicId } from '../auth/keys';
import { assertCanSee, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import { findVisibleCase, type CaseRow } from '../cases/cases';
import type { Config } from '../config';
import { addDays, courtToday, requireCourt } from '../courts/courts';
import type { Queryable } from '../db';
import type { FeeKind, Halving, Stage } from '../fees/compute';
import { quoteFee } from '../fees/quote';
import { emitCallback } from '../callbacks/emit';
import { callbackData } from '../callbacks/payload';
import { presentPayment, type PaymentRow } from '../payments/payment-store';
import { pageOf, withinCourts } from '../http/lists';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { presentRefund, type RefundRow } from '../refunds/refund-store';
import { courtTimeZone, presentInvoice, presentInvoiceSummary, type InvoiceRow, type RemissionRow } from './present';
import { remissionsOf } from './invoice-queries';
import { deriveStatus } from './status';

export interface Payer {
  name: string;
  role: string;
  type?: 'natural_person' | 'legal_person' | 'other_organization';
  email?: string;
  phone?: string;
}

export interface IssueInput {
  feeKind: FeeKind;
  payer: Payer;
  claimAmount?: number;
  propertyAmount?: number;
  damagesAmount?: number;
  stage?: Stage;
  halving?: Halving;
  amount?: number;
  dueDate?: string;
}

/** Issue a fee invoice (缴费通知书): the schedule computes the amount; the notice is dated today in the court's zone. */
export async function issueInvoice(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, caseNumber: string, input: IssueInput) {
  const kase = await findVisibleCase(tx, principal, caseNumber, true);
  if (kase.status !== 'open') throw new ConflictError('case_not_open', `case ${kase.case_number} is ${kase.status}; no new fees can be issued`);
  const court = requireCourt(config, kase.court_code);
  const today = courtToday(court.timeZone);
  if (input.dueDate !== undefined && input.dueDate < today) throw ValidationError.field('dueDate', `must not be before today (${today}, ${court.timeZone})`, 'due_date_in_past');
  const quote = quoteFee(config, {
    courtCode: court.code,
    feeKind: input.feeKind,
    claimAmount: input.claimAmount,
    propertyAmount: input.propertyAmount,
    damagesAmount: input.damagesAmount,
    stage: input.stage,
    procedure: kase.procedure,
    halving: input.halving,
    amount: input.amount,
    onDate: today,
  });
  const basis = Object.fromEntries(
    Object.entries({ claimAmount: input.claimAmount, propertyAmount: input.propertyAmount, damagesAmount: input.damagesAmount, amount: input.amount, halving: input.halving, procedure: kase.procedure, halvingReasons: quote.halvingReasons, factor: quote.factor }).filter(([, v]) => v !== undefined),
  );
  return insertInvoice(tx, config, kase, {
    fee_kind: input.feeKind,
    stage: input.stage ?? 'first_instance',
    payer: input.payer,
    basis,
    schedule_version: quote.scheduleVersion,
    breakdown: quote.breakdown,
    statutory_amount: quote.amount,
    amount_due: quote.amount,
    notice_date: today,
    due_date: input.dueDate ?? addDays(today, config.invoices.defaultDueDays),
  });
}

type NewInvoice = Pick<InvoiceRow, 'fee_kind' | 'stage' | 'schedule_version' | 'statutory_amount' | 'amount_due' | 'notice_date' | 'due_date'> & { payer: Payer; basis: unknown; breakdown: unknown };

/** Writes a new invoice with its payment link, tells the case system (invoice.issued) and audits it. */
async function insertInvoice(tx: Knex.Transaction, config: Readonly<Config>, kase: Pick<CaseRow, 'id' | 'case_number' | 'court_code'>, o: NewInvoice) {
  const [row] = await tx<InvoiceRow>('invoices')
    .insert({
      ...o,
      public_id: publicId('inv'),
      case_id: kase.id,
      court_code: kase.court_code,
      payer: JSON.stringify(o.payer) as never,
      basis: JSON.stringify(o.basis) as never,
      breakdown: JSON.stringify(o.breakdown) as never,
      status: deriveStatus({ amountDue: o.amount_due, paid: 0, refunded: 0, cancelled: false }),
      payment_token: crypto.randomBytes(config.invoices.tokenBytes).toString('base64url'),
    })
    .returning('*');
  const invoice = presentInvoice(config, row, kase.case_number);
  await emitCallback(tx, { type: 'invoice.issued', invoiceId: row.id }, callbackData(config));
  await recordAudit(tx, { action: 'invoice.issued', entityType: 'invoice', entityId: row.public_id, after: withoutLink(invoice) });
  return invoice;
}

/**
 * A party's share of a fee that a judgment put on it ([J 207]: the loser pays the court): the fee
 * as the source invoice computed it (kind, stage, schedule, breakdown), asking for `amount`, dated
 * today in the court's zone and due as any new notice. The basis names the source and the share.
 */
export async function issueShare(tx: Knex.Transaction, config: Readonly<Config>, kase: Pick<CaseRow, 'id' | 'case_number' | 'court_code'>, source: InvoiceRow, share: { payer: Payer; sharePercent: number; amount: number }) {
  const today = courtToday(requireCourt(config, kase.court_code).timeZone);
  return insertInvoice(tx, config, kase, {
    fee_kind: source.fee_kind,
    stage: source.stage,
    payer: share.payer,
    basis: { ...(source.basis as object), allocatedFrom: source.public_id, sharePercent: share.sharePercent },
    schedule_version: source.schedule_version,
    breakdown: source.breakdown,
    statutory_amount: source.statutory_amount,
    amount_due: share.amount,
    notice_date: today,
    due_date: addDays(today, config.invoices.defaultDueDays),
  });
}

/** Audit rows keep the facts, not the payment link (its token lets anyone pay and read the notice). */
export function withoutLink<T extends { paymentUrl?: string }>(inv: T): Omit<T, 'paymentUrl'> {
  const { paymentUrl: _omit, ...rest } = inv;
  return rest;
}

export async function loadVisibleInvoice(db: Queryable, principal: Principal, id: string, forUpdate = false) {
  const q = db('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.public_id', id).select<(InvoiceRow & { case_number: string })[]>('i.*', 'c.case_number');
  if (forUpdate) q.forUpdate('i');
  const [row] = await q;
  if (!row) throw new NotFoundError(`invoice ${id}`);
  assertCanSee(principal, row.court_code, `invoice ${id}`);
  return row;
}

export { remissionsOf };

export async function getInvoice(db: Queryable, config: Readonly<Config>, principal: Principal, id: string) {
  const row = await loadVisibleInvoice(db, principal, id);
  const remissions = await remissionsOf(db, [row.id]);
  const payments = await db<PaymentRow>('payments').where({ invoice_id: row.id }).orderBy('id');
  const refunds = await db<RefundRow>('refunds').where({ invoice_id: row.id }).orderBy('id');
  const paymentIds = new Map(payments.map((p) => [p.id, p.public_id]));
  const today = courtToday(courtTimeZone(config, row.court_code));
  return {
    ...presentInvoice(config, row, row.case_number, remissions.get(row.id)),
    payments: payments.map((p) => presentPayment(p)),
    refunds: refunds.map((r) => presentRefund(r, { payment_public_id: paymentIds.get(r.payment_id), invoice_public_id: row.public_id, case_number: row.case_number }, today)),
  };
}

export async function cancelInvoice(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, id: string, reason?: string) {
  const row = await loadVisibleInvoice(tx, principal, id, true);
  if (row.status !== 'unpaid' || row.paid_amount > 0 || row.amount_due === 0) {
    throw new ConflictError('invoice_not_cancellable', `invoice ${id} is ${row.status}; only an unpaid invoice can be cancelled`);
  }
  const [updated] = await tx<InvoiceRow>('invoices')
    .where({ id: row.id })
    .update({ status: 'cancelled', cancelled_at: tx.fn.now() as never, cancel_reason: reason ?? null, updated_at: tx.fn.now() as never })
    .returning('*');
  const remissions = (await remissionsOf(tx, [row.id])).get(row.id);
  const before = presentInvoice(config, row, row.case_number, remissions);
  const after = presentInvoice(config, updated, row.case_number, remissions);
  await emitCallback(tx, { type: 'invoice.cancelled', invoiceId: row.id }, callbackData(config));
  await recordAudit(tx, { action: 'invoice.cancelled', entityType: 'invoice', entityId: id, before: withoutLink(before), after: withoutLink(after) });
  return after;
}

export interface ListFilter {
  courtCode?: string;
  caseNumber?: string;
  status?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

export async function listInvoices(db: Queryable, config: Readonly<Config>, principal: Principal, f: ListFilter, caseCanonical?: string) {
  const q = db('invoices as i').join('cases as c', 'c.id', 'i.case_id').select('i.*', 'c.case_number');
  withinCourts(q, 'i.court_code', config, principal, f.courtCode);
  if (caseCanonical) q.where('c.case_number', caseCanonical);
  if (f.status) q.where('i.status', f.status);
  if (f.from) q.where('i.notice_date', '>=', f.from);
  if (f.to) q.where('i.notice_date', '<=', f.to);
  const { rows, nextCursor } = await pageOf<InvoiceRow & { case_number: string }>(q, 'i.id', f);
  return { data: rows.map((r) => presentInvoiceSummary(config, r, r.case_number)), nextCursor };
}
