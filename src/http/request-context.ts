import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithContext } from '../shared/context';
import { logger } from '../shared/logger';

const INCOMING_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** A request id on every request and log line (taken from X-Request-Id when sane), and one log line per request. */
export const requestContext: RequestHandler = (req, res, next) => {
  const incoming = req.get('x-request-id');
  const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
  res.setHeader('x-request-id', requestId);
  const ctx = { requestId } as Parameters<typeof runWithContext>[0];
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    if (!logger.isInfoEnabled()) return;
    runWithContext(ctx, () =>
      logger.info('request', {
        method: req.method,
        route: res.locals.route ?? null,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      }),
    );
  });
  runWithContext(ctx, () => next());
};
