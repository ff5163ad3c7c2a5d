import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { RouteDef } from '../http/route';
import { json, ref } from '../http/schemas';
import type { Processor } from '../payments/processor';
import { AppError } from '../shared/errors';
import { logger } from '../shared/logger';
import { receiveEvent, type InboxResult } from './inbox';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';
/** The largest event body taken; Stripe's events are a few kilobytes. */
export const STRIPE_WEBHOOK_BODY_LIMIT = 1024 * 1024;

/** Verifies the signature over the raw body against each endpoint secret (several during a rotation). */
function verify(p: Processor, raw: Buffer, header: string | undefined): Stripe.Event {
  if (!header) throw new AppError('missing_signature', 'the Stripe-Signature header is missing', 400, { errors: [{ field: 'Stripe-Signature', message: 'required' }] });
  for (const secret of p.webhookSecrets) {
    try {
      return p.stripe.webhooks.constructEvent(raw, header, secret);
    } catch {
      // try the next secret
    }
  }
  throw new AppError('invalid_signature', 'the Stripe-Signature does not verify for this body', 400, { errors: [{ field: 'Stripe-Signature', message: 'does not verify' }] });
}

/**
 * One delivery of a Stripe event, whichever way it came in (the lean endpoint, endpoint.ts, or the
 * Express route below): verified over the exact bytes, recorded once, applied. Throws AppError 400
 * for a bad signature (nothing recorded); any other throw was recorded as failed and is a 500.
 */
export async function receiveStripeWebhook(knex: Knex, config: Readonly<Config>, processor: Processor, raw: Buffer, signature: string | undefined): Promise<{ received: true } & InboxResult> {
  const event = verify(processor, raw, signature);
  const result = await receiveEvent(knex, config, processor, event, raw.toString('utf8'));
  if (!result.duplicate) logger.info('processor event', { eventId: event.id, type: event.type, outcome: result.status, note: result.note });
  return { received: true, ...result };
}

export function webhookRoutes(processor: Processor): RouteDef[] {
  return [
    {
      method: 'post',
      path: STRIPE_WEBHOOK_PATH,
      summary: 'Stripe events (signed); 2xx once recorded',
      tag: 'webhooks',
      access: 'public',
      responses: { 200: json('{ received: true, duplicate, status }', ref('WebhookReceipt')), 400: 'bad or missing signature', 413: 'body over 1 MB', 500: 'recorded as failed; Stripe retries' },
      // Manages its own transaction: the inbox claim and the event's effects commit together. Most
      // deliveries never get here: the lean endpoint (endpoint.ts) serves them ahead of Express.
      async read({ req, db, config }) {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return { status: 200, body: await receiveStripeWebhook(db, config, processor, raw, req.get('stripe-signature')) };
      },
    },
  ];
}
