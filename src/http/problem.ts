import type { ErrorRequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db';
import { AppError, DatabaseUnavailableError, pgCode } from '../shared/errors';
import { logger } from '../shared/logger';
import { currentContext } from '../shared/context';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

/** The application/problem+json body of an error, naming the request it answers. */
export function problemBody(err: AppError): string {
  return JSON.stringify({
    type: `https://courtpay.example/problems/${err.code.replace(/_/g, '-')}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    requestId: currentContext()?.requestId,
  });
}

export function sendProblem(res: Response, err: AppError): void {
  for (const [k, v] of Object.entries(err.extra.headers ?? {})) res.setHeader(k, v);
  res.status(err.status).type('application/problem+json').send(problemBody(err));
}

/** Errors from body-parser and friends carry a status and a type; translate those we know. */
function fromFramework(err: { type?: string; status?: number; message?: string }): AppError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError('malformed_json', 'the request body is not valid JSON', 400, { errors: [{ field: 'body', message: 'not valid JSON' }] });
    case 'entity.too.large':
      return new AppError('payload_too_large', 'the request body is too large', 413, { errors: [{ field: 'body', message: 'too large' }] });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_encoding', err.message ?? 'unsupported encoding', 415);
  }
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) return new AppError('bad_request', err.message ?? 'bad request', err.status);
  return null;
}

/**
 * Any error as the problem to answer: a known one as it is; a lost database (src/db
 * isDatabaseUnavailable) as a 503 with Retry-After, logged as a warning; anything else is logged
 * (where it happened, with its stack) and answered as a 500 that names only the request id.
 */
export function asProblem(err: unknown, where: { method?: string; path: string }): AppError {
  const known = err instanceof AppError ? err : fromFramework((err ?? {}) as { type?: string; status?: number; message?: string });
  if (known && known.status < 500) return known;
  if (known instanceof DatabaseUnavailableError || (!known && isDatabaseUnavailable(err))) {
    // One line per request while it lasts, without a stack: the outage is the news, not where each request met it.
    logger.warn('database unavailable', { method: where.method, path: where.path, code: pgCode(err), err: lastPart((err as Error).message) });
    return known ?? new DatabaseUnavailableError();
  }
  logger.error('request failed', { method: where.method, path: where.path, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
  return known ?? new AppError('internal_error', 'something went wrong; the request id identifies it in the logs', 500);
}

/** A failed query's message without the statement (and values) knex puts in front of it. */
function lastPart(message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined;
  const at = message.lastIndexOf(' - ');
  return at >= 0 ? message.slice(at + 3) : message;
}

export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const problem = asProblem(err, { method: req.method, path: req.route?.path ?? req.path });
  if (res.headersSent) return;
  sendProblem(res, problem);
};
