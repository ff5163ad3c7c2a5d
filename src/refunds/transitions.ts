/**
 * Refund states, in one table: requested → approved → submitted → succeeded | failed, or
 * requested → rejected, or requested | approved → cancelled. A succeeded refund can still fail
 * (the bank returned it): that is an event, not an error.
 */
export type RefundStatus = 'requested' | 'approved' | 'submitted' | 'succeeded' | 'failed' | 'rejected' | 'cancelled';
export const REFUND_STATUSES: readonly RefundStatus[] = ['requested', 'approved', 'submitted', 'succeeded', 'failed', 'rejected', 'cancelled'];

/** Refunds that no longer hold any of the payment's money. */
export const RELEASED: readonly RefundStatus[] = ['rejected', 'cancelled', 'failed'];

const ALLOWED: Record<RefundStatus, readonly RefundStatus[]> = {
  requested: ['approved', 'rejected', 'cancelled'],
  approved: ['submitted', 'succeeded', 'failed', 'cancelled'],
  submitted: ['succeeded', 'failed'],
  succeeded: ['failed'],
  failed: [],
  rejected: [],
  cancelled: [],
};

export function canMove(from: RefundStatus, to: RefundStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** What the processor's refund status means for ours ("pending" and "requires_action" wait). */
export function fromProcessor(status: string | null | undefined): 'succeeded' | 'failed' | null {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'failed' || status === 'canceled') return 'failed';
  return null;
}
