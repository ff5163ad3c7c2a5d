/**
 * The statutory fee schedule as versioned data (《诉讼费用交纳办法》, State Council Decree
 * No. 481). An amendment is a new version with its own half-open validity window; a
 * version never changes once in force, so old invoices keep the version they used.
 * All money is integer fen; rates are integer basis points (2.5% = 250).
 */
import { yuan } from './money';

/** A rate charged on the part of an amount inside [from, to] ("分段累计"); to null = no top. */
export interface RateBand {
  readonly from: number;
  readonly to: number | null;
  readonly rateBps: number;
}

/** A flat fee covering the amount up to flatUpTo, then rate bands for the part above it. */
export interface BandTable {
  readonly article: string;
  readonly flatUpTo: number;
  readonly flatFee: number;
  readonly bands: readonly RateBand[];
}

/** The statutory range within which a province sets a per-case fee (Art. 13 last para., Art. 14(一)1). */
export interface FeeRange {
  readonly min: number;
  readonly max: number;
  readonly article: string;
}

/** The province- or court-set fees; the keys of LocalFeeAmounts. */
export type RangeSetting =
  | 'divorce'
  | 'personalityRights'
  | 'otherNonProperty'
  | 'ipNoAmount'
  | 'jurisdictionObjection'
  | 'enforcementNoAmount';

export const RANGE_SETTINGS: readonly RangeSetting[] = [
  'divorce', 'personalityRights', 'otherNonProperty', 'ipNoAmount', 'jurisdictionObjection', 'enforcementNoAmount',
];

export interface Fraction {
  readonly num: number;
  readonly den: number;
}

export interface ScheduleVersion {
  readonly version: string;
  /** YYYY-MM-DD, inclusive. */
  readonly validFrom: string;
  /** YYYY-MM-DD, exclusive; null while in force. */
  readonly validTo: string | null;
  readonly property: BandTable;
  readonly divorceProperty: BandTable;
  readonly personalityDamages: BandTable;
  readonly enforcement: BandTable;
  readonly preservation: BandTable;
  readonly preservationCap: number;
  readonly bankruptcyCap: number;
  readonly paymentOrderFactor: Fraction;
  readonly bankruptcyFactor: Fraction;
  readonly halvingFactor: Fraction;
  readonly fixed: {
    readonly labour: number;
    readonly administrative: number;
    readonly administrativeSpecial: number;
    readonly publicNotice: number;
    readonly arbitrationReview: number;
  };
  readonly ranges: Readonly<Record<RangeSetting, FeeRange>>;
}

/** Writes a table as the law does, in yuan: a flat part, then [upper yuan | null, bps] steps. */
function table(article: string, flat: [upToYuan: number, feeYuan: number], steps: [number | null, number][]): BandTable {
  let from = yuan(flat[0]);
  const bands = steps.map(([upTo, rateBps]) => {
    const band = { from, to: upTo === null ? null : yuan(upTo), rateBps };
    from = band.to ?? from;
    return band;
  });
  return { article, flatUpTo: yuan(flat[0]), flatFee: yuan(flat[1]), bands };
}

function range(minYuan: number, maxYuan: number, article: string): FeeRange {
  return { min: yuan(minYuan), max: yuan(maxYuan), article };
}

const V2007: ScheduleVersion = {
  version: '2007-04-01',
  validFrom: '2007-04-01',
  validTo: null,
  property: table('Art. 13(一)', [10_000, 50], [
    [100_000, 250], [200_000, 200], [500_000, 150], [1_000_000, 100],
    [2_000_000, 90], [5_000_000, 80], [10_000_000, 70], [20_000_000, 60], [null, 50],
  ]),
  divorceProperty: table('Art. 13(二)1', [200_000, 0], [[null, 50]]),
  personalityDamages: table('Art. 13(二)2', [50_000, 0], [[100_000, 100], [null, 50]]),
  enforcement: table('Art. 14(一)2', [10_000, 50], [
    [500_000, 150], [5_000_000, 100], [10_000_000, 50], [null, 10],
  ]),
  preservation: table('Art. 14(二)', [1_000, 30], [[100_000, 100], [null, 50]]),
  preservationCap: yuan(5_000),
  bankruptcyCap: yuan(300_000),
  paymentOrderFactor: { num: 1, den: 3 },
  bankruptcyFactor: { num: 1, den: 2 },
  halvingFactor: { num: 1, den: 2 },
  fixed: {
    labour: yuan(10),
    administrative: yuan(50),
    administrativeSpecial: yuan(100),
    publicNotice: yuan(100),
    arbitrationReview: yuan(400),
  },
  ranges: {
    divorce: range(50, 300, 'Art. 13(二)1'),
    personalityRights: range(100, 500, 'Art. 13(二)2'),
    otherNonProperty: range(50, 100, 'Art. 13(二)3'),
    ipNoAmount: range(500, 1_000, 'Art. 13(三)'),
    jurisdictionObjection: range(50, 100, 'Art. 13(六)'),
    enforcementNoAmount: range(50, 500, 'Art. 14(一)1'),
  },
};

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** Every version, oldest first; windows are half-open and do not overlap. */
export const SCHEDULES: readonly ScheduleVersion[] = deepFreeze([V2007]);

/** True for a real calendar date written YYYY-MM-DD. */
export function isIsoDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date;
}

/** The version in force on a date (validFrom ≤ date < validTo); throws RangeError if none. */
export function scheduleFor(date: string): ScheduleVersion {
  return versionOn(SCHEDULES, date);
}

/** scheduleFor over any list of versions, so an amendment's windows can be checked before it ships. */
export function versionOn<V extends Pick<ScheduleVersion, 'validFrom' | 'validTo'>>(versions: readonly V[], date: string): V {
  if (!isIsoDate(date)) throw new RangeError(`scheduleFor: "${date}" is not a YYYY-MM-DD date`);
  const found = versions.find((v) => v.validFrom <= date && (v.validTo === null || date < v.validTo));
  if (!found) throw new RangeError(`scheduleFor: no fee schedule in force on ${date}`);
  return found;
}
