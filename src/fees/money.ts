/**
 * Money for statutory fees: amounts are integer fen; intermediate results are exact
 * bigint rationals, rounded once, half-up, to the fen (《诉讼费用交纳办法》 Art. 13 "分段累计").
 * No floating point takes part in a fee.
 */

/** Largest claim accepted, in fen (10^11 yuan); fees on it stay far inside safe integers. */
export const MAX_AMOUNT_FEN = 10_000_000_000_000;

/** A basis point is 1/10,000: rates are integers so 2.5% is 250 and 0.1% is 10. */
export const BPS_PER_UNIT = 10_000n;

/** An exact fraction of fen; always reduced, with a positive denominator. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Builds a reduced rational; numbers must be safe integers (BigInt() throws on fractions). */
export function rational(num: bigint | number, den: bigint | number = 1n): Rational {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d === 0n) throw new RangeError('rational: zero denominator');
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { num: n / g, den: d / g };
}

export const ZERO: Rational = rational(0n);
export const ONE: Rational = rational(1n);

export function add(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function sub(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den - b.num * a.den, a.den * b.den);
}

export function mul(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

export function div(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den, a.den * b.num);
}

export function sum(parts: readonly Rational[]): Rational {
  return parts.reduce(add, ZERO);
}

/** Negative, zero or positive as a is below, equal to or above b. */
export function compare(a: Rational, b: Rational): number {
  const diff = a.num * b.den - b.num * a.den;
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

/** The part of a band charged at a rate: partFen × bps / 10,000, kept exact. */
export function atRate(partFen: number, rateBps: number): Rational {
  return rational(BigInt(partFen) * BigInt(rateBps), BPS_PER_UNIT);
}

/**
 * Rounds numerator/denominator to the nearest integer, ties away from zero
 * (for the non-negative amounts of a fee that is "half-up": 2.5 → 3, 25.0125 → 25).
 */
export function roundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('roundHalfUp: zero denominator');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const rounded = (2n * n + d) / (2n * d);
  return negative ? -rounded : rounded;
}

/** The one rounding of a fee to whole fen. */
export function roundToFen(amount: Rational): number {
  const fen = roundHalfUp(amount.num, amount.den);
  if (fen > BigInt(Number.MAX_SAFE_INTEGER) || fen < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`roundToFen: ${fen} fen is not a safe integer`);
  }
  return Number(fen);
}

/** For display of a breakdown line only (e.g. 2.5 fen); never feed it back into a fee. */
export function toDisplayNumber(amount: Rational): number {
  return Number(amount.num) / Number(amount.den);
}

/** "1", "1/2", "1/3". */
export function formatFraction(r: Rational): string {
  return r.den === 1n ? String(r.num) : `${r.num}/${r.den}`;
}

/** 250 → "2.5%", 10 → "0.1%", 100 → "1%". */
export function formatRate(rateBps: number): string {
  const whole = Math.trunc(rateBps / 100);
  const hundredths = String(rateBps % 100).padStart(2, '0').replace(/0+$/, '');
  return hundredths ? `${whole}.${hundredths}%` : `${whole}%`;
}

/** Whole yuan to fen, for writing the schedule in the units of the law. */
export function yuan(amount: number): number {
  const fen = amount * 100;
  if (!Number.isSafeInteger(amount) || !Number.isSafeInteger(fen)) {
    throw new RangeError(`yuan: ${amount} is not a whole number of yuan`);
  }
  return fen;
}

/**
 * Integer fen as yuan with two decimals: "1,050.00" (thousands separated) for pages and messages;
 * with `thousands` '' the plain "1050.00" that CSV files and processor reports use. The only place
 * fen become yuan; exact for every safe integer.
 */
export function formatYuan(fen: number, thousands = ','): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`formatYuan: ${fen} is not integer fen`);
  const abs = Math.abs(fen);
  const whole = String(Math.floor(abs / 100));
  return `${fen < 0 ? '-' : ''}${thousands ? whole.replace(/\B(?=(\d{3})+(?!\d))/g, thousands) : whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** A usable amount of money: integer fen, not negative, not above MAX_AMOUNT_FEN. */
export function isFenAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT_FEN;
}
