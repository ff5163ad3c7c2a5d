import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import { logger } from '../shared/logger';
import { failedEvents, receiveEvent } from '../webhooks/inbox';
import { applyObservation } from './apply';
import { observeSession } from './observe';
import type { PaymentRow } from './payment-store';
import type { Processor } from './processor';

export interface SweepReport {
  checked: number;
  settled: number;
  ended: number;
  stillOpen: number;
  errors: number;
  eventsRetried: number;
}

/**
 * What webhooks missed: every payment still pending after `olderThanMinutes` is looked up at the
 * processor and its real state applied through the same code as the webhook; failed inbox events
 * are retried. Sessions past their expiry that Stripe still reports open are expired there first.
 */
export async function sweepPendingPayments(knex: Knex, config: Readonly<Config>, p: Processor, olderThanMinutes: number, limit = 200): Promise<SweepReport> {
  const report: SweepReport = { checked: 0, settled: 0, ended: 0, stillOpen: 0, errors: 0, eventsRetried: 0 };
  for (const event of await failedEvents(knex)) {
    try {
      await receiveEvent(knex, config, p, event);
      report.eventsRetried += 1;
    } catch {
      report.errors += 1;
    }
  }
  const cutoff = new Date(Date.now() - olderThanMinutes * 60_000);
  const pending = await knex<PaymentRow>('payments').where({ status: 'pending' }).where('created_at', '<', cutoff).orderBy('created_at').limit(limit);
  for (const payment of pending) {
    report.checked += 1;
    try {
      const outcome = await sweepOne(knex, config, p, payment);
      report[outcome] += 1;
    } catch (e) {
      report.errors += 1;
      logger.warn('sweep could not settle a pending payment', { paymentId: payment.public_id, err: (e as Error).message });
    }
  }
  return report;
}

async function sweepOne(knex: Knex, config: Readonly<Config>, p: Processor, payment: PaymentRow): Promise<'settled' | 'ended' | 'stillOpen'> {
  let session: Stripe.Checkout.Session | null = null;
  if (payment.checkout_session_id) {
    session = await p.stripe.checkout.sessions.retrieve(payment.checkout_session_id, { expand: ['payment_intent'] });
    if (session.status === 'open' && (session.expires_at ?? 0) * 1000 < Date.now()) {
      session = await p.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: `courtpay-expire-${payment.public_id}` });
    }
  }
  const observation = session
    ? observeSession(session, 'sweep')
    : // The session was never recorded (the process stopped between our commit and Stripe's answer):
      // nothing can have been paid through a session we never handed out.
      { source: 'sweep', outcome: 'expired' as const, failureReason: 'no checkout session was ever handed out' };
  const r = await knex.transaction((tx) => applyObservation(tx, config, payment, observation));
  if (r.kind === 'applied') return r.status === 'succeeded' ? 'settled' : 'ended';
  return 'stillOpen';
}
