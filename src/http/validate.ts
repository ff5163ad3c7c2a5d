import JoiLib from 'joi';
import type Joi from 'joi';
import { ValidationError } from '../shared/errors';

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, convert: true, stripUnknown: false, errors: { wrap: { label: false } } };

/** Validates with a precompiled joi schema; every failure names its field. */
export function validate<T>(schema: Joi.Schema, value: unknown, where: 'body' | 'query' | 'params'): T {
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
