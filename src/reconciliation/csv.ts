/**
 * CSV as Stripe's report files and Postgres COPY write it (RFC 4180): fields quoted when they hold a
 * comma, quote or line break; in COPY's csv format an unquoted empty field is NULL, a quoted one ''.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
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

/** A report row is a few hundred bytes: a quote never closed fails the read here, not at the end of the file. */
const MAX_ROW_BYTES = 1024 * 1024;

/**
 * Streams CSV rows out of byte or text chunks with csv-parse, holding no more than a chunk and a
 * row; every row must have as many fields as the first, as COPY requires. An empty field comes out
 * as '', quoted or not: csv-parse tells them apart only through a per-field cast callback, which
 * made it 14× slower (115-180 µs a 14-field report row against 9-13 µs without it, and 4-6 µs for
 * the hand-written parser it replaced, on 100,000 rows). On a Postgres server a report file's rows
 * never come through here (stage.ts hands its bytes to COPY), only its header.
 */
export async function* parseCsv(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<string[]> {
  const parser = parse({ bom: true, max_record_size: MAX_ROW_BYTES });
  const feeding = pipeline(Readable.from(chunks, { objectMode: false }), parser);
  feeding.catch(() => undefined);
  try {
    for await (const row of parser) yield row as string[];
    await feeding;
  } finally {
    parser.destroy();
  }
}

/** Fen as the plain decimal yuan CSV and reports use: 105000 → "1050.00", -300 → "-3.00". */
export function fenToDecimal(fen: number): string {
  return formatYuan(fen, '');
}
