/**
 * CSV as Stripe's report files and Postgres COPY write it (RFC 4180): fields quoted when they hold a
 * comma, quote or line break; in COPY's csv format an unquoted empty field is NULL, a quoted one ''.
 */
import { formatYuan } from '../fees/money';

export type Field = string | number | null | undefined;

export function csvField(v: Field): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  if (s === '') return '""';
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: readonly Field[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

/**
 * A cell a spreadsheet would run as a formula (CSV injection, as OWASP lists the characters), and
 * the full-width forms a Chinese input method types, which some spreadsheets take the same way.
 */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/u;
/** A plain decimal number ("-100.00", "1050"): a spreadsheet reads it as a number, never a formula. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * A cell as it may go into a file a person opens in a spreadsheet: numbers, and text that is a plain
 * decimal number (amounts, so a refund's -100.00 still sums), go as they are; any other text that
 * starts with a formula character gets a leading single quote, which spreadsheets show as text.
 * Only for downloads: the COPY path (stage.ts) writes exact values with csvLine.
 */
export function spreadsheetCell(v: Field): Field {
  if (typeof v !== 'string' || PLAIN_NUMBER.test(v)) return v;
  return FORMULA_START.test(v) ? `'${v}` : v;
}

/** A CSV line for a download: each cell neutralised (spreadsheetCell), then quoted as csvLine does. */
export function downloadCsvLine(fields: readonly Field[]): string {
  return csvLine(fields.map(spreadsheetCell));
}

/**
 * Streams CSV rows out of text chunks without holding more than one row at a time. Empty unquoted
 * fields come out as null (as COPY would read them).
 */
export async function* parseCsv(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<(string | null)[]> {
  const decoder = new TextDecoder('utf-8');
  let row: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  let pendingQuote = false;
  const endField = () => {
    row.push(field === '' && !quoted ? null : field);
    field = '';
    quoted = false;
  };
  for await (const chunk of chunks) {
    // A streaming decode: a multi-byte character split across two chunks comes out whole.
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (pendingQuote) {
        pendingQuote = false;
        if (c === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (c === '"') pendingQuote = true;
        else field += c;
        continue;
      }
      if (c === '"') {
        inQuotes = true;
        quoted = true;
      } else if (c === ',') {
        endField();
      } else if (c === '\n') {
        endField();
        yield row;
        row = [];
      } else if (c !== '\r') {
        field += c;
      }
    }
  }
  if (field !== '' || quoted || row.length) {
    endField();
    yield row;
  }
}

/** Fen as the plain decimal yuan CSV and reports use: 105000 → "1050.00", -300 → "-3.00". */
export function fenToDecimal(fen: number): string {
  return formatYuan(fen, '');
}
