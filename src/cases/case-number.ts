/**
 * Case numbers as courts write them: （2026）晋0105民初1234号 — year in parentheses (half- or
 * full-width), the court's designation (province abbreviation + region digits), the case-type
 * designation (民初, 民终, 执, 行初, …), the sequence number, and 号. Stored in one canonical
 * form with half-width parentheses.
 */
const CASE_NUMBER = /^[(（](\d{4})[)）](\p{Script=Han})(\d{0,4})(\p{Script=Han}{1,6})(\d{1,7})号$/u;

export interface CaseNumber {
  canonical: string;
  year: number;
  province: string;
  designation: string;
  typeDesignation: string;
  sequence: number;
}

export function parseCaseNumber(input: string): CaseNumber | null {
  const m = CASE_NUMBER.exec(input.normalize('NFC').trim());
  if (!m) return null;
  const [, year, province, region, type, seq] = m;
  const sequence = Number(seq);
  if (sequence < 1) return null;
  return {
    canonical: `(${year})${province}${region}${type}${sequence}号`,
    year: Number(year),
    province,
    designation: `${province}${region}`,
    typeDesignation: type,
    sequence,
  };
}

/**
 * Whether a case number is one the court with this designation gives out. The designation is
 * compared whole (the parse takes every digit before the case type), so 晋01 — an intermediate
 * court — is not a prefix match for 晋0105, a basic court under it, nor the high court's 晋 for either.
 */
export function isNumberOfCourt(number: CaseNumber, courtDesignation: string): boolean {
  return number.designation === courtDesignation.normalize('NFC');
}
