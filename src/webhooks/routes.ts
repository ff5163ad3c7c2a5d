import type Stripe from 'stripe';
import type { RouteDef } from '../http/route';
import type { Processor } from '../payments/processor';
import { AppError } from '../shared/errors';
import { logger } from '../shared/logger';
import { receiveEvent } from './inbox';

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

export function webhookRoutes(processor: Processor): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/webhooks/stripe',
      summary: 'Stripe events (signed); 2xx once recorded',
      tag: 'webhooks',
      access: 'public',
      responses: { 200: '{ received: true, duplicate, status }', 400: 'bad or missing signature', 500: 'recorded as failed; Stripe retries' },
      // Manages its own transaction: the inbox claim and the event's effects commit together.
      async read({ req, db }) {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const event = verify(processor, raw, req.get('stripe-signature'));
        const result = await receiveEvent(db, processor, event, raw.toString('utf8'));
        if (!result.duplicate) logger.info('processor event', { eventId: event.id, type: event.type, outcome: result.status, note: result.note });
        return { status: 200, body: { received: true, ...result } };
      },
    },
  ];
}
