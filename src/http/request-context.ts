import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { runWithContext, type RequestContext } from '../shared/context';
import { logger } from '../shared/logger';

const INCOMING_ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Starts a request: its id (taken from X-Request-Id when sane, else made) on the response and in the
 * returned context, and one log line when the response finishes, naming the route template.
 */
export function beginRequest(req: IncomingMessage, res: ServerResponse, route: () => string | null): RequestContext {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
  res.setHeader('x-request-id', requestId);
  const ctx: RequestContext = { requestId };
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    if (!logger.isInfoEnabled()) return;
    runWithContext(ctx, () =>
      logger.info('request', { method: req.method, route: route(), status: res.statusCode, durationMs: Number(process.hrtime.bigint() - started) / 1e6 }),
    );
  });
  return ctx;
}

/** A request id on every request and log line, and one log line per request. */
export const requestContext: RequestHandler = (req, res, next) => {
  const ctx = beginRequest(req, res, () => res.locals.route ?? null);
  runWithContext(ctx, () => next());
};
