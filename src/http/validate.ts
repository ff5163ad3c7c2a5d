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
