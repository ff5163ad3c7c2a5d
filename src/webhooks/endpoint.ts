import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Metrics } from '../http/metrics';
import { asProblem, problemBody } from '../http/problem';
import { beginRequest } from '../http/request-context';
import type { Processor } from '../payments/processor';
import { runWithContext } from '../shared/context';
import { logger } from '../shared/logger';
import { receiveStripeWebhook, STRIPE_WEBHOOK_BODY_LIMIT, STRIPE_WEBHOOK_PATH } from './routes';

export interface WebhookEndpointDeps {
  knex: Knex;
  config: Readonly<Config>;
  processor: Processor;
  metrics: Pick<Metrics, 'track'>;
  /** Headers every response carries (the security headers the app's helmet sets), lower-case names. */
  headers: Readonly<Record<string, string>>;
}

/**
 * The processor's deliveries are the busiest request the service has, so the plain case of
 * POST /webhooks/stripe is served here, ahead of Express: a body of known length within the limit,
 * not compressed. Everything Express gives a route is kept — the request id (X-Request-Id, the
 * context the audit rows and log lines read), the request log line and duration metric under the
 * route template, the security headers, problem+json — without the router, the body parser and a
 * dozen middlewares per delivery. Any other request to the path (chunked, compressed, over the
 * limit, another method) returns false and goes to Express, whose route runs the same
 * receiveStripeWebhook.
 */
export function stripeWebhookEndpoint(deps: WebhookEndpointDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const route = () => STRIPE_WEBHOOK_PATH;
  const reply = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...deps.headers, ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const settle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    try {
      const body = await receiveStripeWebhook(deps.knex, deps.config, deps.processor, raw, req.headers['stripe-signature'] as string | undefined);
      reply(res, 200, 'application/json; charset=utf-8', JSON.stringify(body));
    } catch (e) {
      const problem = asProblem(e, { method: req.method, path: STRIPE_WEBHOOK_PATH });
      if (!res.headersSent) reply(res, problem.status, 'application/problem+json; charset=utf-8', problemBody(problem), problem.extra.headers);
    }
  };
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== STRIPE_WEBHOOK_PATH) return false;
    const { headers } = req;
    const length = Number(headers['content-length']);
    const encoding = headers['content-encoding'];
    if (!(length <= STRIPE_WEBHOOK_BODY_LIMIT) || headers['transfer-encoding'] !== undefined || (encoding !== undefined && encoding !== 'identity')) return false;
    const ctx = beginRequest(req, res, route);
    deps.metrics.track(req, res, route);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    const raw = () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    req.on('end', () =>
      runWithContext(ctx, () =>
        settle(req, res, raw()).catch((e: Error) => {
          // Only the answer itself could fail here (the event is already recorded or failed): drop the connection.
          logger.error('could not answer a webhook delivery', { err: e.message });
          res.destroy();
        }),
      ),
    );
    // A delivery cut off mid-body is dropped: Stripe retries what it did not see answered.
    req.on('error', () => res.destroy());
    return true;
  };
}
