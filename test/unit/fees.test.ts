import { expect } from 'chai';
import { computeFee, type FeeInput, type LocalFeeAmounts } from '../../src/fees/compute';

const DATE = '2024-06-01';
const yuan = (y: number) => Math.round(y * 100);
const LOCAL: LocalFeeAmounts = {
  divorce: yuan(200), personalityRights: yuan(300), otherNonProperty: yuan(80),
  ipNoAmount: yuan(800), jurisdictionObjection: yuan(60), enforcementNoAmount: yuan(300),
};
const fee = (input: Omit<FeeInput, 'onDate'>, local: LocalFeeAmounts = LOCAL) => computeFee({ onDate: DATE, ...input }, local);
const property = (claimFen: number) => fee({ feeKind: 'acceptance_property', claimAmount: claimFen }).amount;

describe('fees: worked examples of FEE-LAW.md', () => {
  const examples: [claim: number, full: number, half: number][] = [
    [5_000, 50, 25], [10_001, 50.03, 25.01], [50_000, 1_050, 525], [150_000, 3_300, 1_650],
    [300_000, 5_800, 2_900], [3_000_000, 30_800, 15_400], [7_500_000, 64_300, 32_150], [50_000_000, 291_800, 145_900],
  ];
  for (const [claim, full, half] of examples) {
    it(`when a property claim is ${claim} yuan, then the fee is ${full} yuan and half is ${half} yuan`, () => {
      expect(property(yuan(claim))).to.equal(yuan(full));
      const halved = fee({ feeKind: 'acceptance_property', claimAmount: yuan(claim), halving: 'mediation' });
      expect(halved.amount).to.equal(yuan(half));
      expect(halved.statutoryAmount).to.equal(yuan(full));
    });
  }

  it('when enforcing 300,000 yuan, then the application fee is 4,400.00 yuan', () => {
    expect(fee({ feeKind: 'enforcement', claimAmount: yuan(300_000) }).amount).to.equal(yuan(4_400));
  });

  it('when preserving 50,000 yuan, then the application fee is 520.00 yuan', () => {
    expect(fee({ feeKind: 'preservation', claimAmount: yuan(50_000) }).amount).to.equal(yuan(520));
  });

  it('when bankruptcy property is 1,000,000 yuan, then the fee is 6,900.00 yuan', () => {
    expect(fee({ feeKind: 'bankruptcy', claimAmount: yuan(1_000_000) }).amount).to.equal(yuan(6_900));
  });
});

describe('fees: property band edges (Art. 13(一))', () => {
  // [edge yuan, fee at the edge yuan, bps below the edge (null = flat), bps above]
  const edges: [number, number, number | null, number][] = [
    [10_000, 50, null, 250], [100_000, 2_300, 250, 200], [200_000, 4_300, 200, 150], [500_000, 8_800, 150, 100],
    [1_000_000, 13_800, 100, 90], [2_000_000, 22_800, 90, 80], [5_000_000, 46_800, 80, 70],
    [10_000_000, 81_800, 70, 60], [20_000_000, 141_800, 60, 50],
  ];
  for (const [edge, at, below, above] of edges) {
    it(`when the claim is ${edge} yuan or one fen either side, then the fee is ${at} yuan`, () => {
      expect(property(yuan(edge) - 1)).to.equal(yuan(at));
      expect(property(yuan(edge))).to.equal(yuan(at));
      expect(property(yuan(edge) + 1)).to.equal(yuan(at));
    });
    it(`when the claim is 100 yuan either side of ${edge} yuan, then each side uses its own band's rate`, () => {
      // 100 yuan = 10,000 fen, so the part costs exactly `bps` fen.
      expect(property(yuan(edge) + 10_000)).to.equal(yuan(at) + above);
      expect(property(yuan(edge) - 10_000)).to.equal(below === null ? yuan(at) : yuan(at) - below);
    });
  }

  it('when the claim ends inside a band, then the breakdown has one line per band used, contiguous up to the claim', () => {
    const quote = fee({ feeKind: 'acceptance_property', claimAmount: yuan(150_000) });
    expect(quote.breakdown.map((l) => [l.from, l.to, l.rate, l.rateBps, l.amount])).to.deep.equal([
      [0, yuan(10_000), 'flat', null, yuan(50)],
      [yuan(10_000), yuan(100_000), '2.5%', 250, yuan(2_250)],
      [yuan(100_000), yuan(150_000), '2%', 200, yuan(1_000)],
    ]);
    expect(quote).to.include({ currency: 'CNY', scheduleVersion: '2007-04-01', feeKind: 'acceptance_property', factor: '1', halved: false });
  });

  it('when a band part is a fraction of a fen, then the breakdown shows it unrounded and the total is rounded once', () => {
    const quote = fee({ feeKind: 'acceptance_property', claimAmount: yuan(10_001) });
    expect(quote.breakdown.map((l) => l.amount)).to.deep.equal([5_000, 2.5]);
    expect(quote.amount).to.equal(5_003);
  });

  it('when the claim is the largest accepted (10^13 fen), then the fee is exact', () => {
    // 141,800 + 0.5% × (100,000,000,000 − 20,000,000) yuan
    expect(property(10 ** 13)).to.equal(yuan(141_800 + 499_900_000));
  });
});

describe('fees: other edges', () => {
  it('when enforcement amounts sit on Art. 14(一)2 band edges, then the fees are 50 / 7,400 / 52,400 / 77,400 / 87,400 yuan', () => {
    const expected: [number, number][] = [[10_000, 50], [500_000, 7_400], [5_000_000, 52_400], [10_000_000, 77_400], [20_000_000, 87_400]];
    for (const [amount, due] of expected) {
      for (const delta of [-1, 0, 1]) {
        expect(fee({ feeKind: 'enforcement', claimAmount: yuan(amount) + delta }).amount, `${amount}${delta}`).to.equal(yuan(due));
      }
    }
  });

  it('when preservation amounts sit on Art. 14(二) band edges, then the fees are 30 / 1,020 yuan', () => {
    for (const delta of [-1, 0, 1]) {
      expect(fee({ feeKind: 'preservation', claimAmount: yuan(1_000) + delta }).amount).to.equal(yuan(30));
      expect(fee({ feeKind: 'preservation', claimAmount: yuan(100_000) + delta }).amount).to.equal(yuan(1_020));
    }
  });

  it('when preservation reaches 896,000 yuan, then the fee stops at the 5,000 yuan cap and a cap line says so', () => {
    expect(fee({ feeKind: 'preservation', claimAmount: yuan(895_998) }).amount).to.equal(yuan(4_999.99));
    expect(fee({ feeKind: 'preservation', claimAmount: yuan(896_000) }).amount).to.equal(yuan(5_000));
    const capped = fee({ feeKind: 'preservation', claimAmount: yuan(100_000_000) });
    expect(capped.amount).to.equal(yuan(5_000));
    expect(capped.breakdown.at(-1)).to.include({ rate: 'cap', rateBps: null });
    expect(capped.breakdown.reduce((s, l) => s + l.amount, 0)).to.be.closeTo(yuan(5_000), 1e-6);
  });

  it('when half the property fee on the bankruptcy estate exceeds 300,000 yuan, then the fee is 300,000 yuan', () => {
    expect(fee({ feeKind: 'bankruptcy', claimAmount: yuan(111_639_000) }).amount).to.equal(yuan(299_997.5));
    expect(fee({ feeKind: 'bankruptcy', claimAmount: yuan(111_640_000) }).amount).to.equal(yuan(300_000));
    const capped = fee({ feeKind: 'bankruptcy', claimAmount: yuan(1_000_000_000) });
    expect(capped).to.include({ amount: yuan(300_000), statutoryAmount: yuan(300_000), factor: '1/2', halved: false });
    expect(capped.breakdown.reduce((s, l) => s + l.amount, 0) / 2).to.be.closeTo(yuan(300_000), 1e-6);
  });
});
