import { expect } from 'chai';
import { isNumberOfCourt, parseCaseNumber } from '../../src/cases/case-number';

describe('case numbers', () => {
  it('when written with half- or full-width parentheses, then both give one canonical form', () => {
    const half = parseCaseNumber('(2026)晋0105民初1234号');
    const full = parseCaseNumber('（2026）晋0105民初1234号');
    expect(half).to.deep.equal(full);
    expect(half).to.deep.equal({ canonical: '(2026)晋0105民初1234号', year: 2026, province: '晋', designation: '晋0105', typeDesignation: '民初', sequence: 1234 });
  });

  it('when the court is a high or intermediate court, then its shorter designation parses', () => {
    expect(parseCaseNumber('(2025)晋民终12号')?.designation).to.equal('晋');
    expect(parseCaseNumber('(2025)晋01执恢7号')).to.include({ designation: '晋01', typeDesignation: '执恢', sequence: 7 });
  });

  it('when the sequence has leading zeros, then the canonical form drops them', () => {
    expect(parseCaseNumber('(2026)晋0105民初0012号')?.canonical).to.equal('(2026)晋0105民初12号');
  });

  for (const bad of ['2026晋0105民初1234号', '(26)晋0105民初1号', '(2026)晋0105民初号', '(2026)晋0105民初1234', '(2026)0105民初1号', '(2026)晋0105民初0号', '(2026)晋0105民初1号; drop table cases', '']) {
    it(`when given "${bad}", then it is not a case number`, () => {
      expect(parseCaseNumber(bad)).to.equal(null);
    });
  }

  describe('whose number it is', () => {
    const number = (raw: string) => parseCaseNumber(raw)!;
    const cases: [string, string, boolean][] = [
      ['(2026)晋0105民初78号', '晋0105', true],
      ['(2026)晋01民初78号', '晋01', true],
      ['(2026)晋民终12号', '晋', true],
      // 晋01 is a prefix of 晋0105, and 晋 of both: each is a different court's number.
      ['(2026)晋01民初78号', '晋0105', false],
      ['(2026)晋0105民初78号', '晋01', false],
      ['(2026)晋0105民初78号', '晋', false],
      ['(2026)晋01民初78号', '晋', false],
      ['(2026)晋民终12号', '晋01', false],
      ['(2026)晋0106民初78号', '晋0105', false],
      ['(2026)晋02民初78号', '晋0213', false],
      ['(2026)京0105民初78号', '晋0105', false],
      ['（2026）晋0105民初0078号', '晋0105', true],
    ];
    for (const [raw, designation, expected] of cases) {
      it(`when ${raw} is registered by the court ${designation}, then it is ${expected ? '' : 'not '}that court's number`, () => {
        expect(isNumberOfCourt(number(raw), designation)).to.equal(expected);
      });
    }
  });
});
