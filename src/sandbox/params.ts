import { createHash, randomBytes } from 'node:crypto';
import { invalid, invalidInteger, missingParam, unknownParam } from './errors';

/**
 * Form-encoded Stripe parameters as express.urlencoded({ extended: true }) / qs parse them:
 * nested objects of strings; arrays may arrive as objects keyed '0', '1', ... (qs arrayLimit).
 * An empty string means "unset", as in Stripe.
 */
export type Params = Record<string, unknown>;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

export function asParams(v: unknown): Params {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Params) : {};
}

/** Refuses parameters the endpoint does not know, as Stripe does. */
export function allowOnly(p: Params, allowed: readonly string[], prefix = ''): void {
  for (const k of Object.keys(p)) if (!allowed.includes(k)) throw unknownParam(prefix ? `${prefix}[${k}]` : k);
}

export function str(p: Params, key: string, param = key): string | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid string: ${param}`, param, 'parameter_invalid_string');
  return v;
}

export function reqStr(p: Params, key: string, param = key): string {
  const v = str(p, key, param);
  if (v === undefined) throw missingParam(param);
  return v;
}

export function int(p: Params, key: string, param = key): number | undefined {
  const v = str(p, key, param);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(v)) throw invalidInteger(param);
  return Number(v);
}

export function oneOf<T extends string>(p: Params, key: string, values: readonly T[], param = key): T | undefined {
  const v = str(p, key, param);
  if (v !== undefined && !values.includes(v as T)) throw invalid(`Invalid ${param}: must be one of ${values.join(', ')}`, param, 'parameter_invalid_string');
  return v as T | undefined;
}

export function list(p: Params, key: string): unknown[] {
  const v = p[key];
  if (v === undefined || v === '') return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && v !== null) {
    return Object.entries(v)
      .filter(([k]) => /^\d+$/.test(k))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, x]) => x);
  }
  return [v];
}

export function strList(p: Params, key: string): string[] {
  return list(p, key).map((v, i) => {
    if (typeof v !== 'string') throw invalid(`Invalid array: ${key}[${i}]`, `${key}[${i}]`);
    return v;
  });
}

/** Stripe metadata: up to 50 string keys (40 chars) and values (500 chars). */
export function metadata(p: Params, key = 'metadata', param = key): Record<string, string> {
  const v = p[key];
  if (v === undefined || v === '') return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`Invalid object: ${param}`, param);
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 50) throw invalid('Metadata can have up to 50 keys.', param);
  for (const [k, val] of entries) {
    if (val === '') continue;
    if (typeof val !== 'string') throw invalid(`Invalid string: ${param}[${k}]`, `${param}[${k}]`);
    if (k.length > 40) throw invalid(`Metadata keys can have up to 40 characters; "${k}" has ${k.length}.`, `${param}[${k}]`);
    if (val.length > 500) throw invalid(`Metadata values can have up to 500 characters.`, `${param}[${k}]`);
    out[k] = val;
  }
  return out;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Params)[k])]));
  }
  return v;
}

/** What "the same request" means for an idempotency key: method, path and parameters. */
export function requestHash(method: string, path: string, params: unknown): string {
  return createHash('sha256').update(JSON.stringify([method.toUpperCase(), path, canonical(params)])).digest('hex');
}
