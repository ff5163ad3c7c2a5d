import { expect } from 'chai';
import { FEE_KINDS, computeFee, type FeeInput, type FeeKind, type LocalFeeAmounts } from '../../src/fees/compute';

const DATE = '2024-06-01';
const yuan = (y: number) => Math.round(y * 100);
const LOCAL: LocalFeeAmounts = {
  divorce: yuan(200), personalityRights: yuan(300), otherNonProperty: yuan(80),
  ipNoAmount: yuan(800), jurisdictionObjection: yuan(60), enforcementNoAmount: yuan(300),
};
const fee = (input: Omit<FeeInput, 'onDate'>, local: LocalFeeAmounts = LOCAL) => computeFee({ onDate: DATE, ...input }, local);
const amountOf = (input: Omit<FeeInput, 'onDate'>) => fee(input).amount;

describe('fees: each fee kind', () => {
  const cases: [string, Omit<FeeInput, 'onDate'>, number][] = [
    ['a property claim of 50,000 yuan', { feeKind: 'acceptance_property', claimAmount: yuan(50_000) }, 1_050],
    ['a divorce without property', { feeKind: 'acceptance_divorce' }, 200],
    ['a divorce dividing 200,000 yuan', { feeKind: 'acceptance_divorce', propertyAmount: yuan(200_000) }, 200],
    ['a divorce dividing 300,000 yuan', { feeKind: 'acceptance_divorce', propertyAmount: yuan(300_000) }, 700],
    ['a personality-rights case without damages', { feeKind: 'acceptance_personality_rights' }, 300],
    ['personality-rights damages of 50,000 yuan', { feeKind: 'acceptance_personality_rights', damagesAmount: yuan(50_000) }, 300],
    ['personality-rights damages of 80,000 yuan', { feeKind: 'acceptance_personality_rights', damagesAmount: yuan(80_000) }, 600],
    ['personality-rights damages of 150,000 yuan', { feeKind: 'acceptance_personality_rights', damagesAmount: yuan(150_000) }, 1_050],
    ['another non-property case', { feeKind: 'acceptance_other_non_property' }, 80],
    ['an IP case with 50,000 yuan disputed', { feeKind: 'acceptance_ip', claimAmount: yuan(50_000) }, 1_050],
    ['an IP case without an amount', { feeKind: 'acceptance_ip' }, 800],
    ['a labour dispute', { feeKind: 'acceptance_labour' }, 10],
    ['an administrative case', { feeKind: 'acceptance_administrative' }, 50],
    ['a trademark, patent or maritime administrative case', { feeKind: 'acceptance_administrative_special' }, 100],
    ['a rejected jurisdiction objection', { feeKind: 'jurisdiction_objection' }, 60],
    ['enforcement without an amount', { feeKind: 'enforcement' }, 300],
    ['enforcement of 5,000 yuan', { feeKind: 'enforcement', claimAmount: yuan(5_000) }, 50],
    ['preservation without an amount', { feeKind: 'preservation' }, 30],
    ['a payment order on 50,000 yuan', { feeKind: 'payment_order', claimAmount: yuan(50_000) }, 350],
    ['a payment order on 10,001 yuan (50.025 / 3)', { feeKind: 'payment_order', claimAmount: yuan(10_001) }, 16.68],
    ['a public notice for claims', { feeKind: 'public_notice' }, 100],
    ['an arbitration review', { feeKind: 'arbitration_review' }, 400],
    ['bankruptcy on 10,001 yuan (50.025 / 2)', { feeKind: 'bankruptcy', claimAmount: yuan(10_001) }, 25.01],
  ];
  for (const [what, input, due] of cases) {
    it(`when the fee is for ${what}, then it is ${due} yuan`, () => {
      expect(amountOf(input)).to.equal(yuan(due));
    });
  }

  it('when every fee kind is quoted, then each has a rule, the schedule version and integer fen', () => {
    const withAmount = new Set<FeeKind>(['acceptance_property', 'payment_order', 'bankruptcy']);
    for (const feeKind of FEE_KINDS) {
      const quote = fee({ feeKind, ...(withAmount.has(feeKind) ? { claimAmount: yuan(1_000) } : {}) });
      expect(quote.feeKind).to.equal(feeKind);
      expect(quote.scheduleVersion).to.equal('2007-04-01');
      expect(Number.isSafeInteger(quote.amount) && quote.amount > 0, feeKind).to.equal(true);
      expect(quote.breakdown.length, feeKind).to.be.greaterThan(0);
    }
  });

  it('when a payment order is quoted, then the factor is 1/3 and it is not reported as halved', () => {
    expect(fee({ feeKind: 'payment_order', claimAmount: yuan(50_000) })).to.include({ factor: '1/3', halved: false, statutoryAmount: yuan(350) });
  });

  it('when a divorce divides 300,000 yuan, then the breakdown shows the per-case fee and the 0.5% part', () => {
    const lines = fee({ feeKind: 'acceptance_divorce', propertyAmount: yuan(300_000) }).breakdown;
    expect(lines.map((l) => [l.from, l.to, l.rate, l.amount])).to.deep.equal([
      [0, null, 'flat', yuan(200)], [0, yuan(200_000), 'flat', 0], [yuan(200_000), yuan(300_000), '0.5%', yuan(500)],
    ]);
  });

  for (const stage of ['appeal', 'retrial'] as const) {
    it(`when the stage is ${stage}, then the fee is computed the same way on the amount appealed`, () => {
      expect(amountOf({ feeKind: 'acceptance_property', claimAmount: yuan(300_000), stage })).to.equal(yuan(5_800));
      expect(amountOf({ feeKind: 'acceptance_property', claimAmount: yuan(300_000), stage, halving: 'withdrawal' })).to.equal(yuan(2_900));
    });
  }
});

describe('fees: halving (Arts. 15, 16, 18)', () => {
  const reasons = [undefined, 'mediation', 'withdrawal', 'counterclaim'] as const;
  for (const procedure of ['ordinary', 'summary'] as const) {
    for (const halving of reasons) {
      const expected = procedure === 'summary' || halving ? 2_900 : 5_800;
      it(`when the procedure is ${procedure} and the halving reason is ${halving ?? 'none'}, then the fee is ${expected} yuan`, () => {
        const quote = fee({ feeKind: 'acceptance_property', claimAmount: yuan(300_000), procedure, halving });
        expect(quote.amount).to.equal(yuan(expected));
        expect(quote.statutoryAmount).to.equal(yuan(5_800));
        expect(quote.halved).to.equal(expected !== 5_800);
        expect(quote.factor).to.equal(expected !== 5_800 ? '1/2' : '1');
      });
    }
  }

  it('when summary procedure and mediation both apply, then the fee is halved once and both reasons are listed', () => {
    const quote = fee({ feeKind: 'acceptance_labour', procedure: 'summary', halving: 'mediation' });
    expect(quote).to.include({ amount: yuan(5), factor: '1/2', halved: true });
    expect(quote.halvingReasons).to.deep.equal(['summary_procedure', 'mediation']);
  });

  it('when a half lands on a fraction of a fen, then it is rounded half-up once from the exact amount', () => {
    // 50.025 yuan halved is 25.0125, not half of the rounded 50.03 (25.015 → 25.02)
    expect(amountOf({ feeKind: 'acceptance_property', claimAmount: yuan(10_001), halving: 'counterclaim' })).to.equal(yuan(25.01));
  });

  it('when an application fee is quoted in a summary-procedure case, then Art. 16 does not halve it', () => {
    expect(fee({ feeKind: 'preservation', claimAmount: yuan(50_000), procedure: 'summary' })).to.include({ amount: yuan(520), halved: false, factor: '1' });
  });
});
