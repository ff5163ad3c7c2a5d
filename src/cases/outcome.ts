import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import { emitCallback } from '../callbacks/emit';
import { callbackData } from '../callbacks/payload';
import type { Config } from '../config';
import { addDays } from '../courts/courts';
import type { FeeKind, Halving } from '../fees/compute';
import { roundHalfUp } from '../fees/money';
import { quoteFee } from '../fees/quote';
import { issueShare, remissionsOf, type Payer } from '../invoices/invoices';
import type { InvoiceRow } from '../invoices/present';
import { setAmountDue } from '../invoices/money';
import type { PaymentRow } from '../payments/payment-store';
import type { RefundReason } from '../refunds/reasons';
import { presentRefund } from '../refunds/refund-store';
import { refundable, requestRefund } from '../refunds/request';
import { ConflictError, ValidationError } from '../shared/errors';
import { findVisibleCase, type CaseRow } from './cases';

export type Outcome = 'withdrawn' | 'mediated' | 'not_accepted' | 'dismissed' | 'remanded' | 'claim_reduced' | 'judged' | 'transferred';
export const OUTCOMES: readonly Outcome[] = ['withdrawn', 'mediated', 'not_accepted', 'dismissed', 'remanded', 'claim_reduced', 'judged', 'transferred'];

export interface OutcomeInput {
  outcome: Outcome;
  effectiveDate: string;
  /** claim_reduced: the claim as it now stands (fen). */
  newClaimAmount?: number;
  /** judged: each party's share of the acceptance fee, in percent, summing to 100; a payer for a share no one has been invoiced for yet. */
  feeAllocation?: Allocation[];
  note?: string;
}

export interface Allocation {
  role: string;
  sharePercent: number;
  /** Who is invoiced for this share when the case has not registered exactly one party of the role. */
  payer?: Omit<Payer, 'role'>;
}

const CASE_STATUS: Record<Outcome, string> = {
  withdrawn: 'withdrawn', mediated: 'mediated', not_accepted: 'not_accepted', dismissed: 'dismissed', remanded: 'remanded',
  claim_reduced: 'open', judged: 'judged', transferred: 'transferred',
};

const REASON: Record<Outcome, RefundReason | null> = {
  withdrawn: 'case_withdrawn', mediated: 'mediated', not_accepted: 'not_accepted_or_dismissed', dismissed: 'not_accepted_or_dismissed',
  remanded: 'remanded_on_appeal', claim_reduced: 'claim_reduced', judged: 'winner_prepaid', transferred: null,
};

const isAcceptance = (i: InvoiceRow) => i.fee_kind.startsWith('acceptance_');

/**
 * What the payer of this invoice still owes the court after the outcome (FEE-LAW.md, Refunds), or
 * null when the outcome does not touch it. The refund is what they hold above that.
 */
function owedAfter(config: Readonly<Config>, inv: InvoiceRow, o: OutcomeInput, remitted: boolean): number | null {
  switch (o.outcome) {
    case 'withdrawn':
    case 'mediated': // Arts. 15, 16: half the acceptance fee; halved only once [J 206]
      if (!isAcceptance(inv)) return null;
      if ((inv.basis as { factor?: string }).factor === '1/2') return inv.amount_due;
      if (inv.amount_due < inv.statutory_amount) return Number(roundHalfUp(BigInt(inv.amount_due), 2n));
      return requote(config, inv, { halving: o.outcome === 'withdrawn' ? 'withdrawal' : 'mediation' });
    case 'not_accepted':
    case 'dismissed': // Arts. 8, 27: the acceptance fee is refunded
      return isAcceptance(inv) ? 0 : null;
    case 'remanded': // Art. 27: the appellant's appeal fee is refunded
      return isAcceptance(inv) && inv.stage === 'appeal' ? 0 : null;
    case 'claim_reduced': // Art. 21: the fee on the reduced claim
      // A court's reduction or exemption was decided on the fee as it stood: it is not re-quoted here.
      if (inv.fee_kind !== 'acceptance_property' || remitted) return null;
      return Math.min(inv.amount_due, requote(config, inv, { claimAmount: o.newClaimAmount }));
    case 'judged': { // [J 207]: the winner's prepayment comes back; the loser pays the court
      if (!isAcceptance(inv)) return null;
      const share = o.feeAllocation!.find((a) => a.role === inv.payer.role)?.sharePercent ?? 0;
      return Number(roundHalfUp(BigInt(inv.amount_due) * BigInt(share), 100n));
    }
    case 'transferred': // Art. 24: the prepayment moves with the case
      return null;
  }
}

function requote(config: Readonly<Config>, inv: InvoiceRow, change: { halving?: Halving; claimAmount?: number }): number {
  const b = inv.basis as { claimAmount?: number; propertyAmount?: number; damagesAmount?: number; amount?: number; halving?: Halving; procedure?: 'ordinary' | 'summary' };
  return quoteFee(config, {
    courtCode: inv.court_code, feeKind: inv.fee_kind as FeeKind, stage: inv.stage as 'first_instance', procedure: b.procedure, onDate: inv.notice_date,
    claimAmount: change.claimAmount ?? b.claimAmount, propertyAmount: b.propertyAmount, damagesAmount: b.damagesAmount, amount: b.amount, halving: change.halving ?? b.halving,
  }).amount;
}

function validate(o: OutcomeInput): void {
  if (o.outcome === 'claim_reduced' && o.newClaimAmount === undefined) throw ValidationError.field('newClaimAmount', 'required when the claim is reduced', 'new_claim_required');
  if (o.outcome === 'judged') {
    const total = (o.feeAllocation ?? []).reduce((s, a) => s + a.sharePercent, 0);
    if (!o.feeAllocation?.length || total !== 100) throw ValidationError.field('feeAllocation', 'the parties’ shares must add up to 100', 'allocation_not_100');
  }
}

/**
 * The invoice brought down to what its payer owes after the outcome, its status re-derived from the
 * money settled: an unpaid half after a withdrawal is what the notice asks for and what is chased
 * when overdue, and what was paid above it is the refund proposed beside it.
 */
async function lowerAmountDue(tx: Knex.Transaction, config: Readonly<Config>, inv: InvoiceRow, owed: number, outcome: Outcome) {
  const { status } = await setAmountDue(tx, inv, owed);
  const change = { id: inv.public_id, amountBefore: inv.amount_due, amountAfter: owed, status };
  // What was paid now covers what is owed (a reduced claim on a part-paid invoice, say): the case system hears it as any settlement.
  const nowSettled = (s: string) => s === 'paid' || s === 'overpaid';
  if (inv.paid_amount > 0 && nowSettled(status) && !nowSettled(inv.status)) await emitCallback(tx, { type: 'invoice.paid', invoiceId: inv.id }, callbackData(config));
  await recordAudit(tx, { action: 'invoice.amount_due_lowered', entityType: 'invoice', entityId: inv.public_id, before: { amountDue: inv.amount_due, status: inv.status }, after: { amountDue: owed, status, outcome } });
  return change;
}

/** The payer of a share: the one given with it, or the one party of that role the case has registered. */
function payerOf(kase: CaseRow, a: Allocation): Payer | { reason: string } {
  if (a.payer) return { ...a.payer, role: a.role };
  const parties = (kase.parties as Payer[]).filter((p) => p.role === a.role);
  if (parties.length === 1) return { name: parties[0].name, role: a.role, ...(parties[0].type ? { type: parties[0].type } : {}) };
  const given = 'give feeAllocation[].payer to invoice it';
  return { reason: parties.length ? `${parties.length} parties are registered as ${a.role}: ${given}` : `no ${a.role} is registered on the case: ${given}` };
}

/**
 * [J 207]: what a judgment puts on parties other than the one who prepaid an acceptance fee is
 * theirs to pay the court — an invoice for each share, of the fee as that invoice asked it (the
 * last share takes what rounding leaves, so the shares add up to the fee to the fen). A share with
 * no payer to invoice is reported as unbilled, for the case system to follow up.
 */
async function invoiceShares(tx: Knex.Transaction, config: Readonly<Config>, kase: CaseRow, owedBy: Map<InvoiceRow, number>, o: OutcomeInput) {
  const issued = [];
  const unbilled = [];
  for (const [source, owed] of owedBy) {
    if (!isAcceptance(source) || source.amount_due === 0) continue;
    const others = o.feeAllocation!.filter((a) => a.role !== source.payer.role && a.sharePercent > 0);
    let left = source.amount_due - owed;
    for (const [k, a] of others.entries()) {
      const amount = k === others.length - 1 ? left : Math.min(left, Number(roundHalfUp(BigInt(source.amount_due) * BigInt(a.sharePercent), 100n)));
      left -= amount;
      if (amount <= 0) continue;
      const payer = payerOf(kase, a);
      if ('reason' in payer) unbilled.push({ invoiceId: source.public_id, role: a.role, sharePercent: a.sharePercent, amount, reason: payer.reason });
      else issued.push(await issueShare(tx, config, kase, source, { payer, sharePercent: a.sharePercent, amount }));
    }
  }
  return { issued, unbilled };
}

/**
 * Records how a case ended: each invoice it touches comes down to what is owed now, and the refunds
 * the law requires for what was paid above that are proposed, each awaiting approval, due in 15 days.
 */
export async function recordOutcome(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, caseNumber: string, o: OutcomeInput) {
  validate(o);
  const kase = await findVisibleCase(tx, principal, caseNumber, true);
  if (kase.status !== 'open') throw new ConflictError('case_closed', `case ${kase.case_number} is already ${kase.status}`);
  const [outcome] = await tx('case_outcomes')
    .insert({ case_id: kase.id, outcome: o.outcome, effective_date: o.effectiveDate, details: JSON.stringify(o), recorded_by: `api_key:${principal.keyId}` })
    .returning('*');
  await tx('cases').where({ id: kase.id }).update({ status: CASE_STATUS[o.outcome], outcome_date: o.outcome === 'claim_reduced' ? kase.outcome_date : o.effectiveDate, updated_at: tx.fn.now() });
  const dueDate = addDays(o.effectiveDate, config.refunds.statutoryDueDays);
  const invoices = await tx<InvoiceRow>('invoices').where({ case_id: kase.id }).whereNot({ status: 'cancelled' }).orderBy('id').forUpdate();
  // Invoices a court reduced or exempted (approved remissions: a pending one has changed nothing yet); a deferral only moves the date.
  const remitted = new Set([...(await remissionsOf(tx, invoices.map((i) => i.id)))].filter(([, rs]) => rs.some((r) => r.kind !== 'deferral' && r.status === 'approved')).map(([id]) => id));
  const refunds = [];
  const invoicesLowered = [];
  /** What each invoice the outcome touches owes now (the invoice as read, before it was lowered). */
  const owedBy = new Map<InvoiceRow, number>();
  for (const inv of invoices) {
    const owed = owedAfter(config, inv, o, remitted.has(inv.id));
    if (owed === null) continue;
    owedBy.set(inv, owed);
    if (owed < inv.amount_due) invoicesLowered.push(await lowerAmountDue(tx, config, inv, owed, o.outcome));
    const payments = await tx<PaymentRow>('payments').where({ invoice_id: inv.id, status: 'succeeded' }).orderBy('id', 'desc');
    let held = 0;
    for (const p of payments) held += await refundable(tx, p);
    let due = held - owed;
    for (const p of payments) {
      if (due <= 0) break;
      const amount = Math.min(due, await refundable(tx, p));
      if (amount <= 0) continue;
      const { row } = await requestRefund(tx, config, { id: p.id }, { amount, reasonCode: REASON[o.outcome]! }, { requestedBy: 'system:case-outcome', origin: 'statutory', dueDate, caseOutcomeId: outcome.id });
      refunds.push({ ...presentRefund(row, { payment_public_id: p.public_id, invoice_public_id: inv.public_id, case_number: kase.case_number }), owedAfterOutcome: owed });
      due -= amount;
    }
  }
  const shares = o.outcome === 'judged' ? await invoiceShares(tx, config, kase, owedBy, o) : { issued: [], unbilled: [] };
  const result = {
    caseNumber: kase.case_number, outcome: o.outcome, effectiveDate: o.effectiveDate, caseStatus: CASE_STATUS[o.outcome], refunds, invoicesLowered,
    invoicesIssued: shares.issued, unbilled: shares.unbilled,
  };
  await recordAudit(tx, {
    action: 'case.outcome_recorded', entityType: 'case', entityId: kase.case_number, before: { status: kase.status },
    after: { ...result, refunds: refunds.map((r) => r.id), invoicesLowered: invoicesLowered.map((i) => i.id), invoicesIssued: shares.issued.map((i) => i.id) },
  });
  return result;
}
