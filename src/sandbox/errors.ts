/**
 * Errors the sandbox API answers with, shaped like Stripe's so stripe-node raises the same
 * classes it would against the real API (StripeInvalidRequestError, StripeIdempotencyError, ...).
 */
export type StripeErrorType = 'invalid_request_error' | 'idempotency_error' | 'api_error' | 'card_error';

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: StripeErrorType = 'invalid_request_error',
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'StripeApiError';
  }

  toJSON(): { error: Record<string, string> } {
    const error: Record<string, string> = { type: this.type, message: this.message };
    if (this.code) error.code = this.code;
    if (this.param) error.param = this.param;
    return { error };
  }
}

export const invalid = (message: string, param?: string, code?: string): StripeApiError =>
  new StripeApiError(400, message, 'invalid_request_error', code, param);

export const missingParam = (param: string): StripeApiError => invalid(`Missing required param: ${param}.`, param, 'parameter_missing');

export const unknownParam = (param: string): StripeApiError =>
  invalid(`Received unknown parameter: ${param}`, param, 'parameter_unknown');

export const invalidInteger = (param: string): StripeApiError => invalid(`Invalid integer: must be an integer`, param, 'parameter_invalid_integer');

export const noSuch = (what: string, id: string, param = 'id'): StripeApiError =>
  new StripeApiError(404, `No such ${what}: '${id}'`, 'invalid_request_error', 'resource_missing', param);

export const idempotencyMismatch = (key: string): StripeApiError =>
  new StripeApiError(
    400,
    `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    'idempotency_error',
  );
