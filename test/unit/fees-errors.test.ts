import { expect } from 'chai';
import { FeeInputError, computeFee, validateLocalAmounts, type FeeInput, type FeeKind, type LocalFeeAmounts } from '../../src/fees/compute';
import { scheduleFor } from '../../src/fees/schedule';

const yuan = (y: number) => Math.round(y * 100);
const LOCAL: LocalFeeAmounts = {
  divorce: yuan(200), personalityRights: yuan(300), otherNonProperty: yuan(80),
  ipNoAmount: yuan(800), jurisdictionObjection: yuan(60), enforcementNoAmount: yuan(300),
};

function fieldOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    expect(err).to.be.instanceOf(FeeInputError);
    return (err as FeeInputError).field;
  }
  throw new Error('expected a FeeInputError');
}
const quoteField = (input: Record<string, unknown>, local: LocalFeeAmounts = LOCAL) =>
  fieldOf(() => computeFee({ onDate: '2024-06-01', ...input } as unknown as FeeInput, local));

describe('fees: input errors name the field', () => {
  for (const feeKind of ['acceptance_property', 'payment_order', 'bankruptcy'] as FeeKind[]) {
    it(`when ${feeKind} has no claimAmount, then the error names claimAmount`, () => {
      expect(quoteField({ feeKind })).to.equal('claimAmount');
    });
  }

  const bad: [string, unknown][] = [['negative', -1], ['a fraction of a fen', 100.5], ['above 10^13 fen', 10 ** 13 + 1],
    ['NaN', Number.NaN], ['Infinity', Infinity], ['a string', '100']];
  for (const field of ['claimAmount', 'propertyAmount', 'damagesAmount']) {
    for (const [what, value] of bad) {
      it(`when ${field} is ${what}, then the error names ${field}`, () => {
        expect(quoteField({ feeKind: 'acceptance_property', claimAmount: 100, [field]: value })).to.equal(field);
      });
    }
  }

  it('when the claim is exactly 10^13 fen or 0, then it is accepted', () => {
    expect(() => computeFee({ feeKind: 'acceptance_property', claimAmount: 10 ** 13 }, {})).not.to.throw();
    expect(computeFee({ feeKind: 'acceptance_property', claimAmount: 0 }, {}).amount).to.equal(yuan(50));
  });

  it('when the fee kind, stage, procedure or halving reason is unknown, then the error names that field', () => {
    expect(quoteField({ feeKind: 'acceptance_gift' })).to.equal('feeKind');
    expect(quoteField({ feeKind: 'acceptance_labour', stage: 'supreme' })).to.equal('stage');
    expect(quoteField({ feeKind: 'acceptance_labour', procedure: 'express' })).to.equal('procedure');
    expect(quoteField({ feeKind: 'acceptance_labour', halving: 'settlement' })).to.equal('halving');
  });

  const applicationFees: FeeKind[] = ['enforcement', 'preservation', 'payment_order', 'public_notice', 'arbitration_review', 'bankruptcy', 'jurisdiction_objection'];
  for (const feeKind of applicationFees) {
    it(`when ${feeKind} is asked to be halved, then the error names halving`, () => {
      expect(quoteField({ feeKind, claimAmount: yuan(1_000), halving: 'mediation' })).to.equal('halving');
    });
  }

  it('when summary procedure is claimed on appeal or retrial, then the error names procedure', () => {
    expect(quoteField({ feeKind: 'acceptance_property', claimAmount: 100, stage: 'appeal', procedure: 'summary' })).to.equal('procedure');
    expect(quoteField({ feeKind: 'acceptance_property', claimAmount: 100, stage: 'retrial', procedure: 'summary' })).to.equal('procedure');
  });

  it('when onDate is malformed, not a real day or before the 2007 Measures, then the error names onDate', () => {
    expect(quoteField({ feeKind: 'acceptance_labour', onDate: '2024/06/01' })).to.equal('onDate');
    expect(quoteField({ feeKind: 'acceptance_labour', onDate: '2023-02-29' })).to.equal('onDate');
    expect(quoteField({ feeKind: 'acceptance_labour', onDate: '2007-03-31' })).to.equal('onDate');
  });

  it('when onDate is omitted, then today\'s schedule is used', () => {
    expect(computeFee({ feeKind: 'acceptance_labour' }, {}).scheduleVersion).to.equal('2007-04-01');
  });

  const needsLocal: [FeeKind, keyof LocalFeeAmounts][] = [
    ['acceptance_divorce', 'divorce'], ['acceptance_personality_rights', 'personalityRights'],
    ['acceptance_other_non_property', 'otherNonProperty'], ['acceptance_ip', 'ipNoAmount'],
    ['jurisdiction_objection', 'jurisdictionObjection'], ['enforcement', 'enforcementNoAmount'],
  ];
  for (const [feeKind, setting] of needsLocal) {
    it(`when ${feeKind} is quoted and the court has no ${setting}, then the error names ${setting}`, () => {
      expect(quoteField({ feeKind }, { ...LOCAL, [setting]: undefined })).to.equal(setting);
    });
    it(`when ${feeKind} is quoted and ${setting} is outside the statutory range, then the error names ${setting}`, () => {
      expect(quoteField({ feeKind }, { ...LOCAL, [setting]: yuan(5_000) })).to.equal(setting);
    });
  }
});

describe('fees: validateLocalAmounts', () => {
  const ranges: [keyof LocalFeeAmounts, number, number][] = [
    ['divorce', 50, 300], ['personalityRights', 100, 500], ['otherNonProperty', 50, 100],
    ['ipNoAmount', 500, 1_000], ['jurisdictionObjection', 50, 100], ['enforcementNoAmount', 50, 500],
  ];
  const schedule = scheduleFor('2024-06-01');

  it('when every setting is inside its range or absent, then it passes', () => {
    expect(() => validateLocalAmounts(LOCAL, schedule)).not.to.throw();
    expect(() => validateLocalAmounts({})).not.to.throw();
  });

  for (const [setting, min, max] of ranges) {
    it(`when ${setting} is ${min} or ${max} yuan, then it passes, and one fen outside or a fraction fails naming ${setting}`, () => {
      expect(() => validateLocalAmounts({ [setting]: yuan(min) }, schedule)).not.to.throw();
      expect(() => validateLocalAmounts({ [setting]: yuan(max) }, schedule)).not.to.throw();
      for (const value of [yuan(min) - 1, yuan(max) + 1, yuan(min) + 0.5]) {
        expect(fieldOf(() => validateLocalAmounts({ [setting]: value }, schedule))).to.equal(setting);
      }
    });
  }

  it('when a setting is out of range, then the message gives the range in yuan and the article', () => {
    expect(() => validateLocalAmounts({ divorce: yuan(20) }, schedule)).to.throw(/50\.00 to 300\.00 yuan \(Art\. 13\(二\)1\)/);
  });
});
