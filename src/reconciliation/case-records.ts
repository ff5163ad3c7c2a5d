import Joi from 'joi';
import type { CourtConfig } from '../config';
import type { CaseRecord } from './findings';

/**
 * The court's case system's fee records for a day: GET {caseRecordsUrl}?courtCode=…&date=… answering
 * { data: [{ caseNumber, invoiceId, status, paidAmount, refundedAmount }] } (amounts in fen). Down,
 * slow or malformed → the check is skipped for the run, with the reason, never passed silently.
 */
export type CaseRecordsResult = { status: 'checked'; records: CaseRecord[] } | { status: 'skipped'; reason: string } | { status: 'not_configured' };

const schema = Joi.object({
  data: Joi.array()
    .items(
      Joi.object({
        caseNumber: Joi.string().allow(null, ''),
        invoiceId: Joi.string().required(),
        status: Joi.string().required(),
        paidAmount: Joi.number().integer().min(0).required(),
        refundedAmount: Joi.number().integer().min(0),
      }).unknown(true),
    )
    .required(),
}).unknown(true);

export async function fetchCaseRecords(court: Pick<CourtConfig, 'code' | 'caseRecordsUrl'>, date: string, timeoutMs: number): Promise<CaseRecordsResult> {
  if (!court.caseRecordsUrl) return { status: 'not_configured' };
  const url = new URL(court.caseRecordsUrl);
  url.searchParams.set('courtCode', court.code);
  url.searchParams.set('date', date);
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { status: 'skipped', reason: `case records endpoint answered HTTP ${res.status}` };
    const { value, error } = schema.validate(await res.json());
    if (error) return { status: 'skipped', reason: `case records endpoint answered an unexpected shape: ${error.message}` };
    return { status: 'checked', records: value.data };
  } catch (e) {
    return { status: 'skipped', reason: `case records endpoint unreachable: ${(e as Error).message}` };
  }
}
