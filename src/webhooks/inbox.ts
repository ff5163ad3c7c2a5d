import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { OBSERVATION_CALLBACKS, planObservation } from '../payments/apply';
import { readPaymentState } from '../payments/payment-store';
import { ConcurrentChangeError, writeSettlement } from '../payments/settle-statement';
import { asResult, handleEvent, NO_PAYMENT, paymentObservation, type HandleResult, type PaymentObservation } from './stripe-events';

export type InboxResult = { duplicate: true } | ({ duplicate: false } & HandleResult);

const objectId = (e: Stripe.Event) => (e.data?.object as { id?: string })?.id ?? null;

/**
 * Records an event once and applies it, atomically. The inbox claim takes the event id (unique);
 * a duplicate — even one arriving at the same moment — finds it taken and changes nothing. A
 * failed event is kept as failed, and a later delivery (or the sweep) finishes it.
 *
 * An event about a payment takes two round trips and no locks: read the payment, plan the change,
 * write claim and change in one compare-and-set statement. If the payment or its invoice moved in
 * between, that statement rolls back and the event is applied again the locking way: a transaction
 * with the claim, the rows locked, the same plan written.
 */
export async function receiveEvent(knex: Knex, p: Processor, event: Stripe.Event, raw?: string): Promise<InboxResult> {
  const payload = raw ?? JSON.stringify(event);
  try {
    const payment = paymentObservation(event);
    if (payment) {
      const fast = await receivePaymentEvent(knex, event, payload, payment);
      if (fast) return fast;
    }
    return await knex.transaction(async (tx) => {
      const claimed = await tx.raw(
        `insert into processor_events (event_id, type, object_id, livemode, payload, status)
         values (?, ?, ?, ?, ?, 'processed')
         on conflict (event_id) do update set attempts = processor_events.attempts + 1, payload = excluded.payload
           where processor_events.status = 'failed'
         returning id`,
        [event.id, event.type, objectId(event), !!event.livemode, payload],
      );
      if (!claimed.rows.length) return { duplicate: true as const };
      const result = await handleEvent(tx, p, event);
      await tx('processor_events')
        .where({ id: claimed.rows[0].id })
        .update({ status: result.status, note: result.note ?? null, last_error: null, processed_at: tx.fn.now() });
      return { duplicate: false as const, ...result };
    });
  } catch (e) {
    await recordFailure(knex, event, payload, e as Error);
    throw e;
  }
}

/** The optimistic path; null when the rows moved under it (the caller then takes the locking path). */
async function receivePaymentEvent(knex: Knex, event: Stripe.Event, payload: string, { ref, obs }: PaymentObservation): Promise<InboxResult | null> {
  const { inboxStatus, state } = await readPaymentState(knex, event.id, ref, OBSERVATION_CALLBACKS);
  if (inboxStatus && inboxStatus !== 'failed') return { duplicate: true };
  const plan = state ? planObservation(state, obs) : null;
  const result = plan ? asResult(plan.result) : NO_PAYMENT;
  const row = { event_id: event.id, type: event.type, object_id: objectId(event), livemode: !!event.livemode, status: result.status, note: result.note ?? null };
  try {
    const claimed = await writeSettlement(knex, state, plan?.write ?? null, { row, payload });
    return claimed ? { duplicate: false, ...result } : { duplicate: true };
  } catch (e) {
    if (e instanceof ConcurrentChangeError) return null;
    throw e;
  }
}

async function recordFailure(knex: Knex, event: Stripe.Event, payload: string, err: Error): Promise<void> {
  logger.error('processor event failed', { eventId: event.id, type: event.type, err: err.message });
  await knex
    .raw(
      `insert into processor_events (event_id, type, object_id, livemode, payload, status, last_error)
       values (?, ?, ?, ?, ?, 'failed', ?)
       on conflict (event_id) do update set status = 'failed', last_error = excluded.last_error
         where processor_events.status = 'failed'`,
      [event.id, event.type, objectId(event), !!event.livemode, payload, err.message.slice(0, 2000)],
    )
    .catch((e: Error) => logger.error('could not record the failed event', { eventId: event.id, err: e.message }));
}

/** Failed events, oldest first, for the sweep to retry. */
export async function failedEvents(knex: Knex, limit = 100): Promise<Stripe.Event[]> {
  const rows = await knex('processor_events').where({ status: 'failed' }).orderBy('received_at').limit(limit).select('payload');
  return rows.map((r) => r.payload as Stripe.Event);
}
