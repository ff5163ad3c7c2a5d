/**
 * Refund states, in one table: requested → approved → submitting → submitted → succeeded | failed,
 * or requested → rejected, or requested | approved → cancelled. A succeeded refund can still fail
 * (the bank returned it): that is an event, not an error.
 *
 * `submitting` is committed before the processor is called: from then on a submission may have
 * reached the processor, so nobody can cancel or reject it; only the processor's answer, its
 * webhook or the sweep (re-sending with the same idempotency key) settles it.
 */
export type RefundStatus = 'requested' | 'approved' | 'submitting' | 'submitted' | 'succeeded' | 'failed' | 'rejected' | 'cancelled';
export const REFUND_STATUSES: readonly RefundStatus[] = ['requested', 'approved', 'submitting', 'submitted', 'succeeded', 'failed', 'rejected', 'cancelled'];

/** Refunds that no longer hold any of the payment's money. */
export const RELEASED: readonly RefundStatus[] = ['rejected', 'cancelled', 'failed'];

const ALLOWED: Record<RefundStatus, readonly RefundStatus[]> = {
  requested: ['approved', 'rejected', 'cancelled'],
  // Processor outcomes stay possible: a version before `submitting` existed called the processor
  // while the row said approved, and what the processor says it did is always recorded.
  approved: ['submitting', 'submitted', 'succeeded', 'failed', 'cancelled'],
  submitting: ['submitted', 'succeeded', 'failed'],
  submitted: ['succeeded', 'failed'],
  succeeded: ['failed'],
  failed: [],
  rejected: [],
  cancelled: [],
};

export function canMove(from: RefundStatus, to: RefundStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The states a refund can be cancelled from (a clerk, an approver, or a dispute): never once it may have been sent. */
export const CANCELLABLE: readonly RefundStatus[] = REFUND_STATUSES.filter((s) => canMove(s, 'cancelled'));

/** What the processor's refund status means for ours ("pending" and "requires_action" wait). */
export function fromProcessor(status: string | null | undefined): 'succeeded' | 'failed' | null {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'failed' || status === 'canceled') return 'failed';
  return null;
}
