import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import { roundHalfUp } from '../fees/money';
import { ConflictError, ValidationError } from '../shared/errors';
import { loadVisibleInvoice, remissionsOf, withoutLink } from './invoices';
import { presentInvoice, type RemissionRow } from './present';
import { setAmountDue } from './money';

export interface RemissionInput {
  kind: 'deferral' | 'reduction' | 'exemption';
  decisionRef: string;
  decidedBy: string;
  decidedAt: string;
  newDueDate?: string;
  reductionPercent?: number;
}

/**
 * Records a court's 缓交 / 减交 / 免交 decision (Measures Arts. 44–51) on an unpaid invoice:
 * deferral moves the due date; a reduction is at least 30% of the statutory fee; exemption is
 * for natural persons only and settles the invoice at zero. The statutory amount stays as it was.
 */
export async function recordRemission(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, invoiceId: string, input: RemissionInput) {
  const inv = await loadVisibleInvoice(tx, principal, invoiceId, true);
  if (inv.status !== 'unpaid' || inv.paid_amount > 0) {
    throw new ConflictError('invoice_not_unpaid', `invoice ${invoiceId} is ${inv.status}; remissions are decided before payment`);
  }
  const existing = (await remissionsOf(tx, [inv.id])).get(inv.id) ?? [];
  let amountAfter = inv.amount_due;
  let dueDate = inv.due_date;
  switch (input.kind) {
    case 'deferral':
      if (!input.newDueDate || input.newDueDate <= inv.due_date) {
        throw ValidationError.field('newDueDate', `a deferral must move the due date after ${inv.due_date}`, 'deferral_not_later');
      }
      dueDate = input.newDueDate;
      break;
    case 'reduction':
    case 'exemption':
      if (existing.some((r) => r.kind !== 'deferral')) {
        throw new ConflictError('remission_exists', `invoice ${invoiceId} already has a reduction or exemption`);
      }
      if (input.kind === 'exemption') {
        if (inv.payer.type !== 'natural_person') {
          throw ValidationError.field('kind', 'exemption (免交) is for natural persons only (Art. 45); the payer is not recorded as payer.type natural_person', 'exemption_requires_natural_person');
        }
        amountAfter = 0;
      } else {
        amountAfter = Number(roundHalfUp(BigInt(inv.statutory_amount) * BigInt(100 - input.reductionPercent!), 100n));
      }
      break;
  }
  await tx<RemissionRow>('invoice_remissions').insert({
    invoice_id: inv.id,
    kind: input.kind,
    decision_ref: input.decisionRef,
    decided_by: input.decidedBy,
    decided_at: input.decidedAt,
    reduction_percent: input.kind === 'reduction' ? input.reductionPercent! : null,
    new_due_date: input.kind === 'deferral' ? dueDate : null,
    amount_due_before: inv.amount_due,
    amount_due_after: amountAfter,
  });
  const updated = await setAmountDue(tx, inv, amountAfter, { due_date: dueDate });
  const remissions = (await remissionsOf(tx, [inv.id])).get(inv.id);
  const before = presentInvoice(config, inv, inv.case_number, existing);
  const after = presentInvoice(config, updated, inv.case_number, remissions);
  await recordAudit(tx, { action: `invoice.remission.${input.kind}`, entityType: 'invoice', entityId: invoiceId, before: withoutLink(before), after: withoutLink(after) });
  return after;
}
