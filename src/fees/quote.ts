import type { Config } from '../config';
import { localFeesFor } from '../config';
import { courtToday } from '../courts/courts';
import { ValidationError } from '../shared/errors';
import { computeFee, FeeInputError, type FeeInput, type FeeQuote, type LocalFeeAmounts } from './compute';
import { scheduleFor, type RangeSetting } from './schedule';

/**
 * Fee kinds whose per-case fee a court may state explicitly (`amount`) instead of taking the
 * province's configured one — only where the law gives a range and no amount is claimed.
 */
function explicitSetting(input: FeeInput): RangeSetting | null {
  switch (input.feeKind) {
    case 'acceptance_divorce':
      return 'divorce';
    case 'acceptance_personality_rights':
      return 'personalityRights';
    case 'acceptance_other_non_property':
      return 'otherNonProperty';
    case 'jurisdiction_objection':
      return 'jurisdictionObjection';
    case 'acceptance_ip':
      return input.claimAmount === undefined ? 'ipNoAmount' : null;
    case 'enforcement':
      return input.claimAmount === undefined ? 'enforcementNoAmount' : null;
    default:
      return null;
  }
}

export interface QuoteRequest extends FeeInput {
  courtCode: string;
  /** A per-case amount within the statutory range, for the kinds explicitSetting allows. */
  amount?: number;
}

/** Computes the statutory fee for a court, translating fee-input errors into field errors. */
export function quoteFee(config: Readonly<Config>, req: QuoteRequest): FeeQuote {
  const local: LocalFeeAmounts = { ...localFeesFor(config, req.courtCode) };
  if (req.amount !== undefined) {
    const setting = explicitSetting(req);
    if (!setting) throw ValidationError.field('amount', `the ${req.feeKind} fee is computed by the schedule; send its basis, not an amount`, 'amount_not_allowed');
    const range = scheduleFor(req.onDate ?? courtToday(config.courts.find((c) => c.code === req.courtCode)?.timeZone ?? 'Asia/Shanghai')).ranges[setting];
    if (req.amount < range.min || req.amount > range.max) {
      throw ValidationError.field('amount', `must be between ${range.min} and ${range.max} fen (${range.article})`, 'amount_out_of_range');
    }
    local[setting] = req.amount;
  }
  try {
    const { courtCode: _c, amount: _a, ...input } = req;
    return computeFee(input, local);
  } catch (e) {
    if (e instanceof FeeInputError) {
      throw ValidationError.field(e.field, e.message, 'invalid_fee_input');
    }
    throw e;
  }
}
