import JoiLib from 'joi';
import type Joi from 'joi';
import { ValidationError } from '../shared/errors';

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, convert: true, stripUnknown: false, errors: { wrap: { label: false } } };

/** What a JSON body must carry as itself: a number or a boolean given as a string is refused, not converted. */
const STRICT_TYPES = new Set(['number.base', 'boolean.base']);

/**
 * Validates with a precompiled joi schema; every failure names its field. Query strings and path
 * parameters are text, so "100" becomes 100 there; a JSON body has types of its own, and a string
 * where the contract says a number or boolean is refused (422 naming the field). Only those type
 * checks run unconverted: trimming, case and dates given as strings still work as before.
 */
export function validate<T>(schema: Joi.Schema, value: unknown, where: 'body' | 'query' | 'params'): T {
  if (where === 'body') {
    const strict = schema.validate(value ?? {}, { ...OPTIONS, convert: false }).error?.details
      .filter((d) => STRICT_TYPES.has(d.type) && typeof d.context?.value === 'string');
    if (strict?.length) {
      throw new ValidationError(strict.map((d) => ({ field: d.path.length ? d.path.join('.') : where, message: `${d.message} (a JSON ${d.type.split('.')[0]}, not a string)`, code: d.type })));
    }
  }
  const { value: out, error } = schema.validate(value ?? {}, OPTIONS);
  if (error) {
    throw new ValidationError(
      error.details.map((d) => ({ field: d.path.length ? d.path.join('.') : where, message: d.message, code: d.type })),
    );
  }
  return out as T;
}

/** A calendar date YYYY-MM-DD, kept as the string it is (no time zone may shift it). */
export function isoDate(): Joi.StringSchema {
  return JoiLib.string()
    .pattern(/^\d{4}-\d{2}-\d{2}$/)
    .custom((v: string, helpers) => (new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v ? v : helpers.error('date.base')))
    .messages({ 'string.pattern.base': '{{#label}} must be a date YYYY-MM-DD', 'date.base': '{{#label}} is not a real calendar date' });
}
