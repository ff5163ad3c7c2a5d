/**
 * Statutory court fees (《诉讼费用交纳办法》 Arts. 13–19): band parts summed exactly,
 * at most one half, rounded once half-up to the fen at the very end.
 */
import {
  type Rational, ONE, atRate, compare, div, formatFraction, formatRate, formatYuan, isFenAmount,
  mul, rational, roundToFen, sub, sum, toDisplayNumber, MAX_AMOUNT_FEN,
} from './money';
import { type BandTable, type Fraction, type RangeSetting, type ScheduleVersion, RANGE_SETTINGS, isIsoDate, scheduleFor } from './schedule';

export type FeeKind =
  | 'acceptance_property' | 'acceptance_divorce' | 'acceptance_personality_rights' | 'acceptance_other_non_property'
  | 'acceptance_ip' | 'acceptance_labour' | 'acceptance_administrative' | 'acceptance_administrative_special'
  | 'jurisdiction_objection' | 'enforcement' | 'preservation' | 'payment_order' | 'public_notice'
  | 'arbitration_review' | 'bankruptcy';
export type Halving = 'mediation' | 'withdrawal' | 'counterclaim';
export type Stage = 'first_instance' | 'appeal' | 'retrial';
export type Procedure = 'ordinary' | 'summary';

export const FEE_KINDS: readonly FeeKind[] = Object.freeze([
  'acceptance_property', 'acceptance_divorce', 'acceptance_personality_rights', 'acceptance_other_non_property',
  'acceptance_ip', 'acceptance_labour', 'acceptance_administrative', 'acceptance_administrative_special',
  'jurisdiction_objection', 'enforcement', 'preservation', 'payment_order', 'public_notice',
  'arbitration_review', 'bankruptcy',
] as const);
export const HALVINGS: readonly Halving[] = Object.freeze(['mediation', 'withdrawal', 'counterclaim'] as const);
const STAGES: readonly Stage[] = ['first_instance', 'appeal', 'retrial'];
const PROCEDURES: readonly Procedure[] = ['ordinary', 'summary'];

/** A province's or court's chosen per-case fees, in fen, within the statutory ranges (Art. 13 last para.). */
export interface LocalFeeAmounts {
  divorce?: number;
  personalityRights?: number;
  otherNonProperty?: number;
  ipNoAmount?: number;
  jurisdictionObjection?: number;
  enforcementNoAmount?: number;
}

export interface FeeInput {
  feeKind: FeeKind;
  claimAmount?: number;
  propertyAmount?: number;
  damagesAmount?: number;
  stage?: Stage;
  procedure?: Procedure;
  halving?: Halving;
  /** YYYY-MM-DD; picks the schedule version; default today in China (Asia/Shanghai). */
  onDate?: string;
}

export interface BreakdownLine {
  from: number;
  to: number | null;
  rate: string;
  rateBps: number | null;
  /** Fen before the factor and the final rounding; may be fractional (display only). */
  amount: number;
  label: string;
}

export interface FeeQuote {
  /** Integer fen due: the exact statutory amount × factor, rounded once half-up. */
  amount: number;
  /** Integer fen before any Art. 15/16/18 halving (already one third or capped where the kind says so). */
  statutoryAmount: number;
  currency: 'CNY';
  scheduleVersion: string;
  feeKind: FeeKind;
  /** Band parts before the factor; with a cap, a final 'cap' line brings their sum × factor to the cap. */
  breakdown: BreakdownLine[];
  halved: boolean;
  /** 'summary_procedure', 'mediation', 'withdrawal', 'counterclaim': all that apply, though the fee is halved once. */
  halvingReasons: string[];
  /** Everything the band sum is multiplied by: "1", "1/2" (halved or bankruptcy), "1/3" (payment order). */
  factor: string;
}

export class FeeInputError extends Error {
  constructor(public readonly field: string, message: string) {
    super(message);
    this.name = 'FeeInputError';
  }
}

/**
 * Arts. 15, 16 and 18 halve the acceptance fee of the case (案件受理费) only: never an application fee
 * (申请费, Art. 14), nor the Art. 13(六) jurisdiction-objection fee, which is charged on the ruling
 * rejecting the objection rather than on how the case ends.
 */
const HALVABLE: ReadonlySet<FeeKind> = new Set<FeeKind>(FEE_KINDS.filter((k) => k.startsWith('acceptance_')));

interface Line { from: number; to: number | null; rate: string; rateBps: number | null; amount: Rational; label: string }
interface Statutory { lines: Line[]; factor?: Fraction; cap?: { fen: number; article: string } }
type Rule = (input: FeeInput, local: LocalFeeAmounts, s: ScheduleVersion) => Statutory;

const RULES: Record<FeeKind, Rule> = {
  acceptance_property: (i, _l, s) => ({ lines: banded(s.property, required(i.claimAmount)) }),
  acceptance_divorce: (i, l, s) => ({
    lines: [...perCase(l, 'divorce', s), ...(i.propertyAmount == null ? [] : banded(s.divorceProperty, i.propertyAmount))],
  }),
  acceptance_personality_rights: (i, l, s) => ({
    lines: [...perCase(l, 'personalityRights', s), ...(i.damagesAmount == null ? [] : banded(s.personalityDamages, i.damagesAmount))],
  }),
  acceptance_other_non_property: (_i, l, s) => ({ lines: perCase(l, 'otherNonProperty', s) }),
  // Art. 13(三): the property table when an amount is disputed, else the province's per-case fee.
  acceptance_ip: (i, l, s) => ({ lines: i.claimAmount == null ? perCase(l, 'ipNoAmount', s) : banded(s.property, i.claimAmount) }),
  acceptance_labour: (_i, _l, s) => ({ lines: [flat(s.fixed.labour, 'Art. 13(四) labour dispute')] }),
  acceptance_administrative: (_i, _l, s) => ({ lines: [flat(s.fixed.administrative, 'Art. 13(五)2 administrative case')] }),
  acceptance_administrative_special: (_i, _l, s) => ({
    lines: [flat(s.fixed.administrativeSpecial, 'Art. 13(五)1 trademark, patent or maritime administrative case')],
  }),
  jurisdiction_objection: (_i, l, s) => ({ lines: perCase(l, 'jurisdictionObjection', s) }),
  enforcement: (i, l, s) => ({ lines: i.claimAmount == null ? perCase(l, 'enforcementNoAmount', s) : banded(s.enforcement, i.claimAmount) }),
  // Art. 14(二): no amount counts as the lowest band.
  preservation: (i, _l, s) => ({
    lines: banded(s.preservation, i.claimAmount ?? 0),
    cap: { fen: s.preservationCap, article: 'Art. 14(二)' },
  }),
  payment_order: (i, _l, s) => ({ lines: banded(s.property, required(i.claimAmount)), factor: s.paymentOrderFactor }),
  public_notice: (_i, _l, s) => ({ lines: [flat(s.fixed.publicNotice, 'Art. 14(四) public notice for claims')] }),
  arbitration_review: (_i, _l, s) => ({ lines: [flat(s.fixed.arbitrationReview, 'Art. 14(五) arbitral award or agreement')] }),
  bankruptcy: (i, _l, s) => ({
    lines: banded(s.property, required(i.claimAmount)),
    factor: s.bankruptcyFactor,
    cap: { fen: s.bankruptcyCap, article: 'Art. 14(六)' },
  }),
};

export function computeFee(input: FeeInput, local: LocalFeeAmounts): FeeQuote {
  const schedule = scheduleOn(input.onDate);
  checkInput(input);
  const statutory = RULES[input.feeKind](input, local, schedule);
  const kindFactor = statutory.factor ? rational(statutory.factor.num, statutory.factor.den) : ONE;
  const halvingReasons = halvingReasonsOf(input);
  const halvingFactor = halvingReasons.length > 0 ? rational(schedule.halvingFactor.num, schedule.halvingFactor.den) : ONE;

  let lines = statutory.lines;
  let fee = mul(sum(lines.map((l) => l.amount)), kindFactor);
  if (statutory.cap && compare(fee, rational(statutory.cap.fen)) > 0) {
    // The cap line brings the lines' sum to cap ÷ factor, so sum × factor is still the fee.
    const reduction = sub(div(rational(statutory.cap.fen), kindFactor), sum(lines.map((l) => l.amount)));
    lines = [...lines, { from: 0, to: null, rate: 'cap', rateBps: null, amount: reduction,
      label: `${statutory.cap.article}: at most ${formatYuan(statutory.cap.fen)} yuan` }];
    fee = rational(statutory.cap.fen);
  }

  return {
    amount: roundToFen(mul(fee, halvingFactor)),
    statutoryAmount: roundToFen(fee),
    currency: 'CNY',
    scheduleVersion: schedule.version,
    feeKind: input.feeKind,
    breakdown: lines.map(toBreakdownLine),
    halved: halvingReasons.length > 0,
    halvingReasons,
    factor: formatFraction(mul(kindFactor, halvingFactor)),
  };
}

/** Throws FeeInputError naming the first setting that is not integer fen inside its statutory range. */
export function validateLocalAmounts(local: LocalFeeAmounts, schedule: ScheduleVersion = scheduleFor(todayInChina())): void {
  for (const setting of RANGE_SETTINGS) {
    if (local[setting] != null) checkLocal(setting, local[setting], schedule);
  }
}

function checkLocal(setting: RangeSetting, value: unknown, s: ScheduleVersion): number {
  const { min, max, article } = s.ranges[setting];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new FeeInputError(setting, `${setting} must be integer fen from ${formatYuan(min)} to ${formatYuan(max)} yuan (${article}), got ${String(value)}`);
  }
  return value;
}

/** Every band the amount reaches, each charged only on its own part ("分段累计"). */
function banded(t: BandTable, amount: number): Line[] {
  const flatLine: Line = { from: 0, to: Math.min(amount, t.flatUpTo), rate: 'flat', rateBps: null, amount: rational(t.flatFee),
    label: `${t.article}: ${formatYuan(t.flatFee)} yuan for up to ${formatYuan(t.flatUpTo)} yuan` };
  const used = t.bands.filter((b) => amount > b.from).map((b): Line => {
    const to = b.to === null ? amount : Math.min(amount, b.to);
    return { from: b.from, to, rate: formatRate(b.rateBps), rateBps: b.rateBps, amount: atRate(to - b.from, b.rateBps),
      label: `${t.article}: ${formatRate(b.rateBps)} of the part over ${formatYuan(b.from)} yuan` };
  });
  return [flatLine, ...used];
}

function perCase(local: LocalFeeAmounts, setting: RangeSetting, s: ScheduleVersion): Line[] {
  if (local[setting] == null) throw new FeeInputError(setting, `${setting} is not configured for this court (${s.ranges[setting].article})`);
  return [flat(checkLocal(setting, local[setting], s), `${s.ranges[setting].article}: per case, set by the province`)];
}

function flat(fen: number, label: string): Line {
  return { from: 0, to: null, rate: 'flat', rateBps: null, amount: rational(fen), label };
}

function required(claimAmount: number | undefined): number {
  if (claimAmount == null) throw new FeeInputError('claimAmount', 'claimAmount is required for this fee kind');
  return claimAmount;
}

function toBreakdownLine(l: Line): BreakdownLine {
  return { from: l.from, to: l.to, rate: l.rate, rateBps: l.rateBps, amount: toDisplayNumber(l.amount), label: l.label };
}

/** Arts. 15, 16, 18 and [J 206]: any number of reasons still give one half. */
function halvingReasonsOf(input: FeeInput): string[] {
  const reasons: string[] = [];
  // Art. 16 halves the acceptance fee of a case heard in summary procedure; an application fee is not halved.
  if (input.procedure === 'summary' && HALVABLE.has(input.feeKind)) reasons.push('summary_procedure');
  if (input.halving != null) {
    if (!HALVABLE.has(input.feeKind)) {
      throw new FeeInputError('halving', `${input.feeKind} is not halved: Arts. 15, 16 and 18 halve a case's acceptance fee only`);
    }
    reasons.push(input.halving);
  }
  return reasons;
}

function checkInput(input: FeeInput): void {
  if (!FEE_KINDS.includes(input.feeKind)) throw new FeeInputError('feeKind', `unknown feeKind ${String(input.feeKind)}`);
  for (const field of ['claimAmount', 'propertyAmount', 'damagesAmount'] as const) {
    const value: unknown = input[field];
    if (value != null && !isFenAmount(value)) {
      throw new FeeInputError(field, `${field} must be integer fen from 0 to ${MAX_AMOUNT_FEN}, got ${String(value)}`);
    }
  }
  oneOf('stage', input.stage, STAGES);
  oneOf('procedure', input.procedure, PROCEDURES);
  oneOf('halving', input.halving, HALVINGS);
  // Summary procedure is for first instance only; [J 257(六)] excludes retrials, and appeals are never summary.
  if (input.procedure === 'summary' && input.stage != null && input.stage !== 'first_instance' && HALVABLE.has(input.feeKind)) {
    throw new FeeInputError('procedure', `summary procedure does not apply at stage ${input.stage}`);
  }
}

function oneOf(field: string, value: unknown, allowed: readonly unknown[]): void {
  if (value != null && !allowed.includes(value)) throw new FeeInputError(field, `${field} must be one of ${allowed.join(', ')}`);
}

function scheduleOn(onDate: string | undefined): ScheduleVersion {
  const date = onDate ?? todayInChina();
  if (!isIsoDate(date)) throw new FeeInputError('onDate', `onDate must be a YYYY-MM-DD date, got ${date}`);
  try {
    return scheduleFor(date);
  } catch (err) {
    throw new FeeInputError('onDate', (err as Error).message);
  }
}

/** Court dates are Beijing dates. */
function todayInChina(now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}
