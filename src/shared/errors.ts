/**
 * One error family. Domain code throws these; the HTTP layer maps them to
 * application/problem+json in one place (src/http/problem.ts).
 */
export interface FieldError {
  field: string;
  message: string;
  code?: string;
}

export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly extra: { errors?: FieldError[]; isOperational?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
  get isOperational(): boolean {
    return this.extra.isOperational ?? this.status < 500;
  }
  get errors(): FieldError[] | undefined {
    return this.extra.errors;
  }
}

export class ValidationError extends AppError {
  constructor(errors: FieldError[], message?: string) {
    super('validation_failed', message ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '), 422, { errors });
  }
  static field(field: string, message: string, code?: string): ValidationError {
    return new ValidationError([{ field, message, code }]);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, code = 'not_found') {
    super(code, `${what} not found`, 404);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 409);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required', code = 'unauthorized') {
    super(code, message, 401, { headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'this key may not do that', code = 'forbidden') {
    super(code, message, 403);
  }
}

/** The database cannot be reached just now (src/db isDatabaseUnavailable): worth retrying shortly, not a fault in the request. */
export class DatabaseUnavailableError extends AppError {
  static readonly retryAfterSeconds = 5;
  constructor() {
    super('database_unavailable', 'the database cannot be reached just now; try again in a moment', 503, {
      isOperational: true,
      headers: { 'retry-after': String(DatabaseUnavailableError.retryAfterSeconds) },
    });
  }
}

/** Postgres SQLSTATE codes we translate at the data-access edge. */
export const PG = { uniqueViolation: '23505', foreignKeyViolation: '23503', checkViolation: '23514' } as const;

export function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
