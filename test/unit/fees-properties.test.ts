import { expect } from 'chai';
import fc from 'fast-check';
import { computeFee, type FeeInput, type FeeKind, type Halving } from '../../src/fees/compute';
import { scheduleFor } from '../../src/fees/schedule';

const DATE = '2024-06-01';
const MAX = 10 ** 13;
const LOCAL = { divorce: 20_000, personalityRights: 30_000 };
const s = scheduleFor(DATE);

// Every band edge of every table, so generated amounts often land on or next to one.
const EDGES = [s.property, s.enforcement, s.preservation, s.divorceProperty, s.personalityDamages]
  .flatMap((t) => [t.flatUpTo, ...t.bands.map((b) => b.from)]);
const anyAmount = fc.oneof(
  fc.bigInt({ min: 0n, max: BigInt(MAX) }).map(Number),
  fc.integer({ min: 0, max: 100_000_000 }),
  fc.tuple(fc.constantFrom(...EDGES), fc.integer({ min: -3, max: 3 })).map(([e, d]) => Math.max(0, e + d)),
);

// Each banded fee, as a function of the one amount it depends on.
const banded: Record<string, (amount: number) => FeeInput> = {
  acceptance_property: (a) => ({ feeKind: 'acceptance_property', claimAmount: a }),
  acceptance_ip: (a) => ({ feeKind: 'acceptance_ip', claimAmount: a }),
  acceptance_divorce: (a) => ({ feeKind: 'acceptance_divorce', propertyAmount: a }),
  acceptance_personality_rights: (a) => ({ feeKind: 'acceptance_personality_rights', damagesAmount: a }),
  enforcement: (a) => ({ feeKind: 'enforcement', claimAmount: a }),
  preservation: (a) => ({ feeKind: 'preservation', claimAmount: a }),
  payment_order: (a) => ({ feeKind: 'payment_order', claimAmount: a }),
  bankruptcy: (a) => ({ feeKind: 'bankruptcy', claimAmount: a }),
};
const feeOf = (kind: string, amount: number) => computeFee({ ...banded[kind]!(amount), onDate: DATE }, LOCAL).amount;

/** An oracle written from Art. 13(一) directly, in yuan and percent, with bigint fen × 10,000. */
function propertyOracle(claimFen: number): bigint {
  const steps: [number, number][] = [[100_000, 250], [200_000, 200], [500_000, 150], [1_000_000, 100], [2_000_000, 90],
    [5_000_000, 80], [10_000_000, 70], [20_000_000, 60], [Infinity, 50]];
  let scaled = 5_000n * 10_000n;
  let lower = 1_000_000;
  for (const [upperYuan, bps] of steps) {
    const upper = upperYuan * 100;
    if (claimFen > lower) scaled += BigInt(Math.min(claimFen, upper) - lower) * BigInt(bps);
    lower = upper;
  }
  return (scaled + 5_000n) / 10_000n;
}

describe('fees: properties', () => {
  for (const kind of Object.keys(banded)) {
    it(`when the ${kind} amount grows, then the fee never falls`, () => {
      fc.assert(fc.property(anyAmount, anyAmount, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(feeOf(kind, lo)).to.be.at.most(feeOf(kind, hi));
      }), { numRuns: 300 });
    });

    it(`when the ${kind} amount grows by one fen, including at band edges, then the fee grows by at most one fen`, () => {
      fc.assert(fc.property(anyAmount.filter((a) => a < MAX), (a) => {
        expect(feeOf(kind, a + 1) - feeOf(kind, a)).to.be.within(0, 1);
      }), { numRuns: 300 });
      for (const edge of EDGES) expect(feeOf(kind, edge + 1) - feeOf(kind, edge), `edge ${edge}`).to.be.within(0, 1);
    });
  }

  it('when a property fee is computed, then it equals the fee written straight from Art. 13(一)', () => {
    fc.assert(fc.property(anyAmount, (a) => {
      expect(feeOf('acceptance_property', a)).to.equal(Number(propertyOracle(a)));
    }), { numRuns: 1_000 });
  });

  it('when an acceptance fee is halved, then 2·half ≤ full + 1 and half ≥ ⌊full/2⌋', () => {
    const kinds: FeeKind[] = ['acceptance_property', 'acceptance_ip', 'acceptance_divorce', 'acceptance_personality_rights'];
    const reasons: (Halving | 'summary')[] = ['mediation', 'withdrawal', 'counterclaim', 'summary'];
    fc.assert(fc.property(fc.constantFrom(...kinds), fc.constantFrom(...reasons), anyAmount, (kind, reason, a) => {
      const input = { ...banded[kind]!(a), onDate: DATE };
      const full = computeFee(input, LOCAL).amount;
      const half = computeFee(reason === 'summary' ? { ...input, procedure: 'summary' } : { ...input, halving: reason }, LOCAL).amount;
      expect(2 * half).to.be.at.most(full + 1);
      expect(half).to.be.at.least(Math.floor(full / 2));
    }), { numRuns: 500 });
  });

  it('when summary procedure and any halving reason combine, then the fee is the same single half', () => {
    fc.assert(fc.property(fc.constantFrom<Halving>('mediation', 'withdrawal', 'counterclaim'), anyAmount, (halving, a) => {
      const input: FeeInput = { feeKind: 'acceptance_property', claimAmount: a, onDate: DATE };
      const once = computeFee({ ...input, halving }, {});
      const both = computeFee({ ...input, halving, procedure: 'summary' }, {});
      expect(both.amount).to.equal(once.amount);
      expect(both.factor).to.equal('1/2');
    }), { numRuns: 200 });
  });

  it('when any banded fee is quoted, then its breakdown lines are contiguous and sum, times the factor, to the fee', () => {
    fc.assert(fc.property(fc.constantFrom(...Object.keys(banded)), anyAmount, (kind, a) => {
      const quote = computeFee({ ...banded[kind]!(a), onDate: DATE }, LOCAL);
      const bands = quote.breakdown.filter((l) => l.to !== null);
      bands.slice(1).forEach((l, i) => expect(l.from).to.equal(bands[i]!.to));
      const [num, den = '1'] = quote.factor.split('/');
      const total = (quote.breakdown.reduce((t, l) => t + l.amount, 0) * Number(num)) / Number(den);
      expect(Math.abs(total - quote.amount)).to.be.at.most(0.5 + 1e-6 * Math.max(1, quote.amount));
    }), { numRuns: 300 });
  });
});
