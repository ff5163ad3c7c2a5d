import type { Knex } from 'knex';
import { publicId } from '../auth/keys';
import { actorOf, isMaker, personOf } from '../auth/maker-checker';
import { assertCanSee, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import type { Queryable } from '../db';
import { pageOf, withinCourts } from '../http/lists';
import { roundHalfUp } from '../fees/money';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../shared/errors';
import { loadVisibleInvoice, remissionsOf, withoutLink } from './invoices';
import { presentInvoice, presentRemission, type InvoiceRow, type RemissionRow } from './present';
import { setAmountDue } from './money';

export interface RemissionInput {
  kind: 'deferral' | 'reduction' | 'exemption';
  decisionRef: string;
  decidedBy: string;
  decidedAt: string;
  newDueDate?: string;
  reductionPercent?: number;
}

type Invoice = InvoiceRow & { case_number: string };
type Decision = Pick<RemissionInput, 'kind' | 'newDueDate' | 'reductionPercent'>;

function assertUnpaid(inv: Invoice): void {
  if (inv.status !== 'unpaid' || inv.paid_amount > 0) {
    throw new ConflictError('invoice_not_unpaid', `invoice ${inv.public_id} is ${inv.status}; remissions are decided before payment`);
  }
}

/**
 * What a 缓交 / 减交 / 免交 decision (Measures Arts. 44–51) does to the invoice as it stands:
 * deferral moves the due date; a reduction is at least 30% of the statutory fee; exemption is for
 * natural persons only and settles the invoice at zero. The statutory amount stays as it was.
 * `others` are the invoice's other remissions that apply or may (approved or pending).
 */
function planRemission(inv: Invoice, others: RemissionRow[], d: Decision): { amountAfter: number; dueDate: string } {
  switch (d.kind) {
    case 'deferral':
      if (!d.newDueDate || d.newDueDate <= inv.due_date) {
        throw ValidationError.field('newDueDate', `a deferral must move the due date after ${inv.due_date}`, 'deferral_not_later');
      }
      return { amountAfter: inv.amount_due, dueDate: d.newDueDate };
    case 'reduction':
    case 'exemption':
      if (others.some((r) => r.kind !== 'deferral')) {
        throw new ConflictError('remission_exists', `invoice ${inv.public_id} already has a reduction or exemption (approved or awaiting approval)`);
      }
      if (d.kind === 'exemption') {
        if (inv.payer.type !== 'natural_person') {
          throw ValidationError.field('kind', 'exemption (免交) is for natural persons only (Art. 45); the payer is not recorded as payer.type natural_person', 'exemption_requires_natural_person');
        }
        return { amountAfter: 0, dueDate: inv.due_date };
      }
      return { amountAfter: Number(roundHalfUp(BigInt(inv.statutory_amount) * BigInt(100 - d.reductionPercent!), 100n)), dueDate: inv.due_date };
  }
}

const live = (rs: RemissionRow[] | undefined, except?: number) => (rs ?? []).filter((r) => r.status !== 'rejected' && r.id !== except);

/** Applies an approved decision to the invoice and audits it as the change of the amount due (as a case system's always did). */
async function apply(tx: Knex.Transaction, config: Readonly<Config>, inv: Invoice, before: RemissionRow[], kind: string, amountAfter: number, dueDate: string) {
  const updated = await setAmountDue(tx, inv, amountAfter, { due_date: dueDate });
  const remissions = (await remissionsOf(tx, [inv.id])).get(inv.id);
  const shownBefore = presentInvoice(config, inv, inv.case_number, before);
  const after = presentInvoice(config, updated, inv.case_number, remissions);
  await recordAudit(tx, { action: `invoice.remission.${kind}`, entityType: 'invoice', entityId: inv.public_id, before: withoutLink(shownBefore), after: withoutLink(after) });
  return after;
}

/**
 * Records a court's remission decision on an unpaid invoice. A case system's (a key with no
 * person, carrying the court's decision reference) applies at once. One entered by a person
 * (a session, or a key with an owner) waits, pending, for a second person's approval: the amount
 * due does not change until then.
 */
export async function recordRemission(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, invoiceId: string, input: RemissionInput) {
  const inv = await loadVisibleInvoice(tx, principal, invoiceId, true);
  assertUnpaid(inv);
  const existing = (await remissionsOf(tx, [inv.id])).get(inv.id) ?? [];
  const { amountAfter, dueDate } = planRemission(inv, live(existing), input);
  const person = personOf(principal);
  const pending = person !== null;
  const [row] = await tx<RemissionRow>('invoice_remissions')
    .insert({
      public_id: publicId('rem'),
      invoice_id: inv.id,
      kind: input.kind,
      decision_ref: input.decisionRef,
      decided_by: input.decidedBy,
      decided_at: input.decidedAt,
      reduction_percent: input.kind === 'reduction' ? input.reductionPercent! : null,
      new_due_date: input.kind === 'deferral' ? dueDate : null,
      amount_due_before: inv.amount_due,
      amount_due_after: amountAfter,
      status: pending ? 'pending' : 'approved',
      entered_by: actorOf(principal),
      entered_by_staff_id: person?.staffId ?? null,
      approved_at: pending ? null : new Date(),
      people: JSON.stringify(person ? { entered: person } : {}) as never,
    })
    .returning('*');
  if (!pending) return { pending, invoice: await apply(tx, config, inv, existing, input.kind, amountAfter, dueDate), remission: presentRemission(row) };
  const invoice = presentInvoice(config, inv, inv.case_number, [...existing, row]);
  await recordAudit(tx, { action: 'invoice.remission.pending', entityType: 'invoice', entityId: inv.public_id, after: { remission: presentRemission(row) } });
  return { pending, invoice, remission: presentRemission(row) };
}

/** The pending remission and its invoice, both locked (invoice first, as every writer of it does). */
async function lockPending(tx: Knex.Transaction, principal: Principal, remissionId: string) {
  const found = await tx('invoice_remissions as r').join('invoices as i', 'i.id', 'r.invoice_id').where('r.public_id', remissionId).first('i.public_id as invoice_public_id', 'i.court_code');
  if (!found) throw new NotFoundError(`remission ${remissionId}`);
  assertCanSee(principal, found.court_code, `remission ${remissionId}`);
  const inv = await loadVisibleInvoice(tx, principal, found.invoice_public_id, true);
  const row = (await tx<RemissionRow>('invoice_remissions').where({ public_id: remissionId }).forUpdate().first())!;
  return { inv, row };
}

function assertDecidable(row: RemissionRow, principal: Principal): void {
  if (isMaker({ by: row.entered_by, staffId: row.entered_by_staff_id }, principal)) {
    throw new ForbiddenError('a remission must be approved by someone other than the person who entered it', 'own_remission');
  }
  if (row.status !== 'pending') throw new ConflictError(`remission_${row.status}`, `remission ${row.public_id} is ${row.status}; only a pending one can be decided`);
}

function decidedBy(row: RemissionRow, act: 'approved' | 'rejected', p: Principal) {
  const person = personOf(p);
  return { [`${act}_by`]: actorOf(p), [`${act}_by_staff_id`]: person?.staffId ?? null, [`${act}_at`]: new Date(), people: JSON.stringify({ ...row.people, ...(person ? { [act]: person } : {}) }) } as Partial<RemissionRow>;
}

/** A second person approves a pending remission: it applies to the invoice as it stands now (unpaid, and still allowed). */
export async function approveRemission(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, remissionId: string, note?: string) {
  const { inv, row } = await lockPending(tx, principal, remissionId);
  assertDecidable(row, principal);
  assertUnpaid(inv);
  const all = (await remissionsOf(tx, [inv.id])).get(inv.id) ?? [];
  const { amountAfter, dueDate } = planRemission(inv, live(all, row.id), { kind: row.kind as Decision['kind'], newDueDate: row.new_due_date ?? undefined, reductionPercent: row.reduction_percent ?? undefined });
  const [after] = await tx<RemissionRow>('invoice_remissions')
    .where({ id: row.id })
    .update({ status: 'approved', ...decidedBy(row, 'approved', principal), decision_note: note ?? null, amount_due_before: inv.amount_due, amount_due_after: amountAfter })
    .returning('*');
  return { invoice: await apply(tx, config, inv, all, row.kind, amountAfter, dueDate), remission: presentRemission(after) };
}

/** A second person rejects a pending remission, with a note: the invoice never changes for it. */
export async function rejectRemission(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, remissionId: string, note: string) {
  const { inv, row } = await lockPending(tx, principal, remissionId);
  assertDecidable(row, principal);
  const [after] = await tx<RemissionRow>('invoice_remissions').where({ id: row.id }).update({ status: 'rejected', ...decidedBy(row, 'rejected', principal), decision_note: note }).returning('*');
  await recordAudit(tx, { action: 'invoice.remission.rejected', entityType: 'invoice', entityId: inv.public_id, before: { remission: presentRemission(row) }, after: { remission: presentRemission(after) } });
  const remissions = (await remissionsOf(tx, [inv.id])).get(inv.id);
  return { invoice: presentInvoice(config, inv, inv.case_number, remissions), remission: presentRemission(after) };
}

export interface RemissionListFilter {
  status?: 'pending' | 'approved' | 'rejected';
  courtCode?: string;
  limit: number;
  cursor?: string;
}

/** Remissions of the courts the caller may see, newest first: with status=pending, what awaits a second person. */
export async function listRemissions(db: Queryable, config: Readonly<Config>, principal: Principal, f: RemissionListFilter) {
  const q = db('invoice_remissions as r').join('invoices as i', 'i.id', 'r.invoice_id').join('cases as c', 'c.id', 'i.case_id').select('r.*', 'i.public_id as invoice_public_id', 'i.court_code', 'c.case_number');
  withinCourts(q, 'i.court_code', config, principal, f.courtCode);
  if (f.status) q.where('r.status', f.status);
  const { rows, nextCursor } = await pageOf<RemissionRow & { invoice_public_id: string; court_code: string; case_number: string }>(q, 'r.id', f);
  return { data: rows.map((r) => ({ ...presentRemission(r), invoiceId: r.invoice_public_id, courtCode: r.court_code, caseNumber: r.case_number })), nextCursor };
}
