import type { Knex } from 'knex';
import { assertCanSee, assertCourtInScope, type Principal } from '../auth/principal';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import type { Queryable } from '../db';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { isNumberOfCourt, parseCaseNumber, type CaseNumber } from './case-number';

export const CASE_TYPES = ['civil', 'commercial', 'administrative', 'enforcement', 'bankruptcy', 'ip', 'labour', 'maritime', 'preservation', 'special', 'other'] as const;
export const PROCEDURES = ['ordinary', 'summary'] as const;
/** The roles a party (and so an invoice's payer) can have in a case. */
export const PARTY_ROLES = ['plaintiff', 'defendant', 'appellant', 'appellee', 'applicant', 'respondent', 'third_party', 'counterclaimant'] as const;

export interface CaseRow {
  id: number;
  case_number: string;
  court_code: string;
  year: number;
  designation: string;
  type_designation: string;
  sequence: number;
  case_type: string;
  procedure: 'ordinary' | 'summary';
  status: string;
  title: string | null;
  parties: unknown[];
  outcome_date: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface CaseInput {
  courtCode: string;
  caseType: string;
  procedure: 'ordinary' | 'summary';
  title?: string | null;
  parties?: unknown[];
}

export function requireCaseNumber(raw: string): CaseNumber {
  const parsed = parseCaseNumber(raw);
  if (!parsed) {
    throw ValidationError.field('caseNumber', 'not a case number as courts write it, e.g. (2026)晋0105民初1234号', 'malformed_case_number');
  }
  return parsed;
}

export function presentCase(row: CaseRow) {
  return {
    caseNumber: row.case_number,
    courtCode: row.court_code,
    caseType: row.case_type,
    procedure: row.procedure,
    status: row.status,
    title: row.title,
    parties: row.parties,
    outcomeDate: row.outcome_date,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Register a case, or update what the case system may change about it. Returns whether it was created. */
export async function upsertCase(tx: Knex.Transaction, config: Readonly<Config>, principal: Principal, rawNumber: string, input: CaseInput) {
  const number = requireCaseNumber(rawNumber);
  const court = requireCourt(config, input.courtCode);
  assertCourtInScope(principal, court.code);
  // Checked before the database is asked anything, so the answer is the same whether or not
  // another court holds the number: a court registers only numbers carrying its own designation.
  if (!isNumberOfCourt(number, court.designation)) {
    throw ValidationError.field('caseNumber', `a case of ${court.name} is numbered with its designation ${court.designation}, not ${number.designation}`, 'case_number_court_mismatch');
  }
  const fields = {
    case_type: input.caseType,
    procedure: input.procedure,
    title: input.title ?? null,
    parties: JSON.stringify(input.parties ?? []) as unknown as unknown[],
  };
  // Insert-or-nothing first: two registrations of one case at the same moment meet at the unique constraint.
  const [created] = await tx<CaseRow>('cases')
    .insert({
      ...fields,
      case_number: number.canonical,
      court_code: court.code,
      year: number.year,
      designation: number.designation,
      type_designation: number.typeDesignation,
      sequence: number.sequence,
    })
    .onConflict('case_number')
    .ignore()
    .returning('*');
  if (created) {
    await recordAudit(tx, { action: 'case.registered', entityType: 'case', entityId: created.case_number, after: presentCase(created) });
    return { created: true, row: created };
  }
  const existing = (await tx<CaseRow>('cases').where({ case_number: number.canonical }).forUpdate().first())!;
  assertCanSee(principal, existing.court_code, `case ${number.canonical}`);
  if (existing.court_code !== court.code) {
    throw new ConflictError('case_court_mismatch', `case ${number.canonical} is registered at court ${existing.court_code}`);
  }
  const [row] = await tx<CaseRow>('cases').where({ id: existing.id }).update({ ...fields, updated_at: tx.fn.now() }).returning('*');
  await recordAudit(tx, { action: 'case.updated', entityType: 'case', entityId: row.case_number, before: presentCase(existing), after: presentCase(row) });
  return { created: false, row };
}

/** The case behind a path parameter, if this key may see it (else 404, so existence does not leak). */
export async function findVisibleCase(db: Queryable, principal: Principal, rawNumber: string, forUpdate = false): Promise<CaseRow> {
  const number = requireCaseNumber(rawNumber);
  const q = db<CaseRow>('cases').where({ case_number: number.canonical });
  if (forUpdate) q.forUpdate();
  const row = await q.first();
  if (!row) throw new NotFoundError(`case ${number.canonical}`);
  assertCanSee(principal, row.court_code, `case ${number.canonical}`);
  return row;
}
