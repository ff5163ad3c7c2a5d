import { expect } from 'chai';
import fc from 'fast-check';
import { csvLine, parseCsv } from '../../src/reconciliation/csv';

const readAll = async (chunks: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>) => {
  const rows: string[][] = [];
  for await (const row of parseCsv(chunks)) rows.push(row);
  return rows;
};

/** The bytes cut at the given offsets: multi-byte characters and quote pairs land on both sides of a cut. */
const cut = (bytes: Buffer, at: number[]) => {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
};

describe('CSV read from a report file', () => {
  it('when fields hold commas, doubled quotes and line breaks and lines end in CRLF, then each comes out whole', async () => {
    expect(await readAll(['"a,b","say ""hi""","two\nlines",plain\r\n', 'x,,"",y\r\n'])).to.deep.equal([
      ['a,b', 'say "hi"', 'two\nlines', 'plain'],
      ['x', '', '', 'y'],
    ]);
  });

  it('when any rows are written as COPY reads them and arrive cut anywhere, then they are read back as written (an absent value as empty)', async () => {
    const cell = fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('"', '""', ',', '\r\n', '\n', '名', '晋0105'));
    const rowsOf = fc.integer({ min: 2, max: 6 }).chain((width) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(rowsOf, fc.array(fc.nat(), { maxLength: 10 }), async (rows, at) => {
        const bytes = Buffer.from(rows.map(csvLine).join(''), 'utf8');
        expect(await readAll(cut(bytes, at))).to.deep.equal(rows.map((r) => r.map((v) => v ?? '')));
      }),
      { numRuns: 200 },
    );
  });

  it('when the file starts with a byte order mark, then the first column name is read without it', async () => {
    expect(await readAll([Buffer.from('\uFEFFbalance_transaction_id,gross\ntxn_1,1.00\n', 'utf8')])).to.deep.equal([['balance_transaction_id', 'gross'], ['txn_1', '1.00']]);
  });

  for (const [what, text] of [['fewer', 'a,b,c\n1,2\n'], ['more', 'a,b,c\n1,2,3,4\n']]) {
    it(`when a row has ${what} fields than the first, then the read fails naming the line`, async () => {
      let error: Error | null = null;
      try {
        await readAll([text]);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/Invalid Record Length: expect 3, got \d on line 2/);
    });
  }

  it('when a quote is never closed, then the read fails after about a megabyte instead of taking in the rest of the file', async () => {
    let given = 0;
    function* endless() {
      yield 'txn_1,"';
      // 64 MB on offer: a reader that waits for the quote to close would take it all.
      for (; given < 1024; given++) yield 'x'.repeat(64 * 1024);
    }
    let error: (Error & { code?: string }) | null = null;
    try {
      await readAll(endless());
    } catch (e) {
      error = e as Error;
    }
    expect(error?.code).to.equal('CSV_MAX_RECORD_SIZE');
    expect(given).to.be.below(64);
  });
});
