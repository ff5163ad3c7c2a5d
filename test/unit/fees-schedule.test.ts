import { expect } from 'chai';
import { SCHEDULES, scheduleFor, versionOn, type BandTable, type ScheduleVersion } from '../../src/fees/schedule';
import { formatRate, formatYuan, rational, roundHalfUp, yuan } from '../../src/fees/money';

describe('fees: schedule versions', () => {
  it('when the date is 2007-04-01 or later, then the 2007 version applies', () => {
    expect(scheduleFor('2007-04-01').version).to.equal('2007-04-01');
    expect(scheduleFor('2099-12-31').version).to.equal('2007-04-01');
  });

  it('when the date is before 2007-04-01 or not a real date, then scheduleFor throws', () => {
    expect(() => scheduleFor('2007-03-31')).to.throw(RangeError, /no fee schedule/);
    expect(() => scheduleFor('2024-13-01')).to.throw(RangeError, /YYYY-MM-DD/);
    expect(() => scheduleFor('20240601')).to.throw(RangeError);
  });

  it('when an amendment starts, then the old version covers the day before and the new one its first day (half-open)', () => {
    const versions = [
      { version: 'old', validFrom: '2007-04-01', validTo: '2030-01-01' },
      { version: 'new', validFrom: '2030-01-01', validTo: null },
    ];
    expect(versionOn(versions, '2029-12-31').version).to.equal('old');
    expect(versionOn(versions, '2030-01-01').version).to.equal('new');
    expect(() => versionOn(versions.slice(0, 1), '2030-01-01')).to.throw(RangeError);
  });

  it('when the versions are listed, then their windows are ordered, contiguous and only the last is open', () => {
    SCHEDULES.forEach((s, i) => {
      const next = SCHEDULES[i + 1];
      if (next) expect(s.validTo).to.equal(next.validFrom);
      else expect(s.validTo).to.equal(null);
      if (s.validTo !== null) expect(s.validFrom < s.validTo).to.equal(true);
    });
  });

  it('when the schedule is read, then it cannot be changed', () => {
    const s = SCHEDULES[0] as { -readonly [k in keyof ScheduleVersion]: ScheduleVersion[k] };
    expect(() => { s.bankruptcyCap = 1; }).to.throw(TypeError);
    expect(() => { (s.property.bands[0] as { rateBps: number }).rateBps = 1; }).to.throw(TypeError);
  });

  it('when a band table is read, then its bands are contiguous from the flat part, ascending, integer bps, open at the top', () => {
    const s = scheduleFor('2024-01-01');
    const tables: BandTable[] = [s.property, s.divorceProperty, s.personalityDamages, s.enforcement, s.preservation];
    for (const t of tables) {
      let from = t.flatUpTo;
      t.bands.forEach((b, i) => {
        expect(b.from, t.article).to.equal(from);
        expect(Number.isInteger(b.rateBps) && b.rateBps > 0).to.equal(true);
        if (i < t.bands.length - 1) expect(b.to! > b.from).to.equal(true);
        else expect(b.to).to.equal(null);
        from = b.to ?? from;
      });
    }
  });

  it('when the 2007 version is read, then the rates and fixed fees are those of Arts. 13 and 14 in fen and bps', () => {
    const s = scheduleFor('2024-01-01');
    expect(s.property.bands.map((b) => b.rateBps)).to.deep.equal([250, 200, 150, 100, 90, 80, 70, 60, 50]);
    expect(s.enforcement.bands.map((b) => b.rateBps)).to.deep.equal([150, 100, 50, 10]);
    expect(s.fixed).to.deep.equal({ labour: 1_000, administrative: 5_000, administrativeSpecial: 10_000, publicNotice: 10_000, arbitrationReview: 40_000 });
    expect([s.preservationCap, s.bankruptcyCap]).to.deep.equal([500_000, 30_000_000]);
    expect(s.ranges.ipNoAmount).to.include({ min: 50_000, max: 100_000 });
  });
});

describe('fees: money', () => {
  it('when fen are formatted, then they read as yuan with thousands separators and two decimals', () => {
    expect(formatYuan(105_000)).to.equal('1,050.00');
    expect(formatYuan(0)).to.equal('0.00');
    expect(formatYuan(5)).to.equal('0.05');
    expect(formatYuan(-150)).to.equal('-1.50');
    expect(formatYuan(10 ** 13)).to.equal('100,000,000,000.00');
    expect(() => formatYuan(1.5)).to.throw(RangeError);
  });

  it('when a fraction is rounded, then ties go up (away from zero) and the rest to the nearest', () => {
    const cases: [bigint, bigint, bigint][] = [[5n, 2n, 3n], [7n, 2n, 4n], [1n, 3n, 0n], [2n, 3n, 1n], [250125n, 10000n, 25n],
      [50025n, 2n, 25013n], [-5n, 2n, -3n], [5n, -2n, -3n], [0n, 7n, 0n]];
    for (const [n, d, r] of cases) expect(roundHalfUp(n, d), `${n}/${d}`).to.equal(r);
    expect(() => roundHalfUp(1n, 0n)).to.throw(RangeError);
  });

  it('when rationals and rates are built, then they are reduced and printed as the law writes them', () => {
    expect(rational(6, -4)).to.deep.equal({ num: -3n, den: 2n });
    expect([250, 10, 100, 50, 90, 5].map(formatRate)).to.deep.equal(['2.5%', '0.1%', '1%', '0.5%', '0.9%', '0.05%']);
    expect(yuan(300_000)).to.equal(30_000_000);
    expect(() => yuan(0.5)).to.throw(RangeError);
    expect(() => rational(0.5)).to.throw(RangeError);
  });
});
