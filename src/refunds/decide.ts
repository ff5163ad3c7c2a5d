import type { Knex } from 'knex';
import { assertCanSee, hasRole, type Principal } from '../auth/principal';
import { actorOf, isMaker, personOf } from '../auth/maker-checker';
import { recordAudit } from '../audit/record';
import type { PaymentRow } from '../payments/payment-store';
import { ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import { lockRefund, presentRefund, updateRefund, type RefundRow } from './refund-store';
import { CANCELLABLE, canMove, type RefundStatus } from './transitions';

export { actorOf };

const requester = (r: RefundRow) => ({ by: r.requested_by, staffId: r.requested_by_staff_id });

/** The columns an act writes about who did it: the actor, the person's id, and their name for the history. */
function doneBy(r: RefundRow, act: 'approved' | 'rejected' | 'cancelled', p: Principal) {
  const person = personOf(p);
  return { [`${act}_by`]: actorOf(p), [`${act}_by_staff_id`]: person?.staffId ?? null, people: JSON.stringify({ ...r.people, ...(person ? { [act]: person } : {}) }) } as Partial<RefundRow>;
}

async function lockVisible(tx: Knex.Transaction, principal: Principal, id: string): Promise<RefundRow> {
  const found = await tx<RefundRow>('refunds').where({ public_id: id }).first();
  if (!found) throw new NotFoundError(`refund ${id}`);
  assertCanSee(principal, found.court_code, `refund ${id}`);
  return lockRefund(tx, found.id);
}

function mustMove(r: RefundRow, to: RefundStatus, only?: string): void {
  if (canMove(r.status, to)) return;
  const why = r.status === 'submitting' || r.status === 'submitted'
    ? 'it has been sent to the processor (or may have been), and only the processor\'s answer settles it now'
    : only ?? `it cannot be ${to}`;
  throw new ConflictError(`refund_${r.status}`, `refund ${r.public_id} is ${r.status}; ${why}`);
}

/** Maker-checker: the approver is never the one who asked — the same person through any key or session. */
export async function approveRefund(tx: Knex.Transaction, principal: Principal, id: string, note?: string): Promise<RefundRow> {
  const r = await lockVisible(tx, principal, id);
  if (isMaker(requester(r), principal)) throw new ForbiddenError('a refund must be approved by someone other than who requested it', 'own_refund_request');
  mustMove(r, 'approved', 'only a requested refund can be approved');
  const payment = (await tx<PaymentRow>('payments').where({ id: r.payment_id }).first())!;
  if (payment.status !== 'succeeded') throw new ConflictError('payment_disputed', `payment ${payment.public_id} is ${payment.status}; the refund cannot go ahead`);
  const after = await updateRefund(tx, r.id, { status: 'approved', ...doneBy(r, 'approved', principal), approved_at: new Date(), decided_note: note ?? null });
  await recordAudit(tx, { action: 'refund.approved', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) });
  return after;
}

export async function rejectRefund(tx: Knex.Transaction, principal: Principal, id: string, note: string): Promise<RefundRow> {
  const r = await lockVisible(tx, principal, id);
  if (isMaker(requester(r), principal)) throw new ForbiddenError('a refund must be decided by someone other than who requested it', 'own_refund_request');
  mustMove(r, 'rejected', 'only a requested refund can be rejected');
  const after = await updateRefund(tx, r.id, { status: 'rejected', ...doneBy(r, 'rejected', principal), rejected_at: new Date(), decided_note: note });
  await recordAudit(tx, { action: 'refund.rejected', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) });
  return after;
}

/** Before submission only (never once `submitting`): the requester (a clerk) or an approver may cancel. */
export async function cancelRefund(tx: Knex.Transaction, principal: Principal, id: string, note?: string): Promise<RefundRow> {
  const r = await lockVisible(tx, principal, id);
  if (!hasRole(principal, 'approver') && !isMaker(requester(r), principal)) {
    throw new ForbiddenError('a clerk may cancel only refunds they requested', 'not_your_refund');
  }
  mustMove(r, 'cancelled');
  const after = await updateRefund(tx, r.id, { status: 'cancelled', ...doneBy(r, 'cancelled', principal), cancelled_at: new Date(), decided_note: note ?? r.decided_note });
  await recordAudit(tx, { action: 'refund.cancelled', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) });
  return after;
}

/** A dispute freezes the payment's money: refunds not yet sent are cancelled (one that may have been sent is left to the processor's answer). */
export async function cancelOpenRefundsOfPayment(tx: Knex.Transaction, paymentId: number, why: string): Promise<void> {
  const open = await tx<RefundRow>('refunds').where({ payment_id: paymentId }).whereIn('status', CANCELLABLE).forUpdate();
  for (const r of open) {
    if (!canMove(r.status, 'cancelled')) continue;
    const after = await updateRefund(tx, r.id, { status: 'cancelled', cancelled_by: 'system:dispute', cancelled_at: new Date(), decided_note: why });
    await recordAudit(tx, { action: 'refund.cancelled', entityType: 'refund', entityId: r.public_id, before: presentRefund(r), after: presentRefund(after) }, 'system:dispute');
  }
}
