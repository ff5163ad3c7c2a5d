/**
 * The most one charge can be: Stripe takes at most 8 digits in the currency's minor unit
 * (99,999,999 fen = 999,999.99 yuan). A larger fee is paid in parts of at most this much.
 */
export const MAX_CHARGE_FEN = 99_999_999;

/** What the pay button asks for next: the outstanding amount, or the largest part of it one charge can be. */
export function nextPart(outstanding: number): number {
  return Math.min(outstanding, MAX_CHARGE_FEN);
}
