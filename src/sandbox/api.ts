import express, { type NextFunction, type Request, type Response } from 'express';
import Stripe from 'stripe';
import { logger } from '../shared/logger';
import { invalid, noSuch, StripeApiError } from './errors';
import { expand } from './expand';
import { listObjects, type ListSpec } from './lists';
import { allowOnly, asParams, newId, requestHash, strList, type Params } from './params';
import { createSession, expireSession, getSession } from './payments';
import { createPayout, createRefund } from './refunds';
import type { Ctx, Idempotency, RunResult } from './runtime';
import { store, type StripeObject } from './store';

/**
 * The Stripe-compatible HTTP API the stripe client is pointed at in sandbox mode: form-encoded
 * requests as stripe-node sends them, Stripe-shaped JSON answers and errors.
 */
type Handler = (req: Request) => Promise<RunResult<StripeObject> | StripeObject | Record<string, unknown>>;

function authenticate(req: Request, _res: Response, next: NextFunction): void {
  const header = req.get('authorization') ?? '';
  const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!key) {
    return next(new StripeApiError(401, 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').'));
  }
  if (!/^sk_test_\w+$/.test(key)) return next(new StripeApiError(401, `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(8)}`, 'invalid_request_error', 'api_key_invalid'));
  next();
}

function idempotency(req: Request): Idempotency | undefined {
  const key = req.get('idempotency-key');
  if (!key) return undefined;
  if (key.length > 255) throw invalid('Idempotency-Key must be at most 255 characters long.', 'Idempotency-Key');
  return { key, hash: requestHash(req.method, req.path, req.body) };
}

/** The API version the request asks for (stripe-node sends the one it is pinned to). */
const apiVersion = (req: Request): string => req.get('stripe-version') ?? Stripe.API_VERSION;

const params = (req: Request): Params => asParams(req.method === 'GET' ? req.query : req.body);

export function apiApp(ctx: Ctx): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use(express.urlencoded({ extended: true, limit: '1mb', parameterLimit: 5000 }));
  app.use((_req, res, next) => {
    res.set('Request-Id', newId('req', 14));
    next();
  });
  app.use(authenticate);

  const respond = (method: 'get' | 'post', path: string, handler: Handler) =>
    app[method](path, async (req: Request, res: Response) => {
      const out = await handler(req);
      const replay = out && typeof out === 'object' && 'replayed' in out && 'result' in out;
      const body = (replay ? (out as RunResult<StripeObject>).result : out) as Record<string, unknown>;
      if (replay && (out as RunResult<StripeObject>).replayed) res.set('Idempotent-Replayed', 'true');
      res.json(await expand(ctx.knex, body, strList(params(req), 'expand')));
    });
  const retrieve = (type: string, label = type) => async (req: Request) => {
    allowOnly(params(req), ['expand']);
    const o = await store.get(ctx.knex, String(req.params.id));
    if (!o || o.object !== type) throw noSuch(label, String(req.params.id));
    return o;
  };
  const list = (spec: ListSpec) => (req: Request) => listObjects(ctx.knex, spec, params(req));

  respond('post', '/v1/checkout/sessions', (req) => createSession(ctx, params(req), apiVersion(req), idempotency(req)));
  respond('get', '/v1/checkout/sessions/:id', (req) => {
    allowOnly(params(req), ['expand']);
    return getSession(ctx, String(req.params.id));
  });
  respond('post', '/v1/checkout/sessions/:id/expire', (req) => {
    allowOnly(params(req), ['expand']);
    return expireSession(ctx, String(req.params.id), 'request', idempotency(req));
  });
  respond('get', '/v1/payment_intents/:id', retrieve('payment_intent'));
  respond('get', '/v1/charges/:id', retrieve('charge'));
  respond('post', '/v1/refunds', (req) => createRefund(ctx, params(req), idempotency(req)));
  respond('get', '/v1/refunds', list({ type: 'refund', url: '/v1/refunds', fields: ['payment_intent', 'charge'] }));
  respond('get', '/v1/refunds/:id', retrieve('refund'));
  respond('get', '/v1/events/:id', retrieve('event'));
  respond('get', '/v1/balance_transactions', list({ type: 'balance_transaction', url: '/v1/balance_transactions', fields: ['type', 'source', 'currency'], payout: true }));
  respond('get', '/v1/balance_transactions/:id', retrieve('balance_transaction'));
  respond('get', '/v1/payouts', list({ type: 'payout', url: '/v1/payouts', fields: ['status', 'destination'] }));
  respond('get', '/v1/payouts/:id', retrieve('payout'));
  respond('get', '/v1/events', list({ type: 'event', url: '/v1/events', fields: ['type'] }));
  respond('post', '/v1/sandbox/payouts', (req) => createPayout(ctx, params(req), idempotency(req)));

  app.use((req: Request) => {
    throw new StripeApiError(404, `Unrecognized request URL (${req.method}: ${req.path}). The courtpay sandbox implements only the part of the Stripe API the service uses.`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof StripeApiError) return void res.status(err.status).json(err.toJSON());
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) return void res.status(400).json(invalid((err as Error).message).toJSON());
    logger.error('sandbox API error', { method: req.method, path: req.path, error: err instanceof Error ? err.stack : String(err) });
    res.status(500).json(new StripeApiError(500, 'An unexpected error occurred in the sandbox processor.', 'api_error').toJSON());
  });
  return app;
}
