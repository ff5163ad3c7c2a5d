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

/** How long the fetch may take (connect to the last byte), and how much of an answer is read. */
export interface CaseRecordsLimits {
  timeoutMs: number;
  maxBytes: number;
}

/**
 * A redirect is not followed (the URL is the operator's; where it points next is not) and an answer
 * larger than maxBytes is not read past it (a declared Content-Length is refused before reading).
 */
export async function fetchCaseRecords(court: Pick<CourtConfig, 'code' | 'caseRecordsUrl'>, date: string, limits: CaseRecordsLimits): Promise<CaseRecordsResult> {
  if (!court.caseRecordsUrl) return { status: 'not_configured' };
  const url = new URL(court.caseRecordsUrl);
  url.searchParams.set('courtCode', court.code);
  url.searchParams.set('date', date);
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(limits.timeoutMs) });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      return { status: 'skipped', reason: `case records endpoint answered a redirect (HTTP ${res.status}), not followed` };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return { status: 'skipped', reason: `case records endpoint answered HTTP ${res.status}` };
    }
    const text = await readAtMost(res, limits.maxBytes);
    if (text === null) return { status: 'skipped', reason: `case records endpoint answered more than ${limits.maxBytes} bytes (reconciliation.caseRecordsMaxBytes), not read` };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { status: 'skipped', reason: 'case records endpoint answered something that is not JSON' };
    }
    const { value, error } = schema.validate(body);
    if (error) return { status: 'skipped', reason: `case records endpoint answered an unexpected shape: ${error.message}` };
    return { status: 'checked', records: value.data };
  } catch (e) {
    return { status: 'skipped', reason: `case records endpoint unreachable: ${(e as Error).message}` };
  }
}

/** The body as text, or null when it is (or says it is) longer than `max` bytes: reading stops there. */
async function readAtMost(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max || !res.body) {
    await res.body?.cancel();
    return declared > max ? null : '';
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
