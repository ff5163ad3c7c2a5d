/**
 * The one transition table for payments. Events arrive in any order and any number of times;
 * the table decides what each observation does to the state we hold. Settled money is never
 * undone by a late "failed/expired/canceled", and the first ending of an unpaid attempt wins.
 */
export type PaymentStatus = 'pending' | 'succeeded' | 'failed' | 'canceled' | 'expired' | 'disputed';
export type Outcome = 'succeeded' | 'failed' | 'canceled' | 'expired';
export type DisputeStatus = 'open' | 'won' | 'lost';

/** Statuses in which the processor holds (or held) the payer's money for us. */
export const SETTLED: readonly PaymentStatus[] = ['succeeded', 'disputed'];

/** SETTLED as a SQL list, for `status in ${SETTLED_SQL}`. */
export const SETTLED_SQL = `(${SETTLED.map((s) => `'${s}'`).join(', ')})`;

export function isSettled(s: PaymentStatus | string): boolean {
  return (SETTLED as readonly string[]).includes(s);
}

/** The new status for an outcome, or null when the observation changes nothing. */
export function nextStatus(current: PaymentStatus, outcome: Outcome): PaymentStatus | null {
  if (isSettled(current)) return null; // money settled: a terminal state never moves backwards
  if (outcome === 'succeeded') return 'succeeded'; // also from failed/expired/canceled: the money is real
  return current === 'pending' ? outcome : null; // the first ending of an unpaid attempt wins
}

/** Dispute state: open → won | lost; a closed dispute never reopens. */
export function nextDispute(current: DisputeStatus | null, observed: DisputeStatus): DisputeStatus | null {
  if (current === 'won' || current === 'lost') return null;
  if (current === 'open' && observed === 'open') return null;
  return observed;
}
