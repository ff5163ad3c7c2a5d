import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { handleEvent, type HandleResult } from './stripe-events';

export type InboxResult = { duplicate: true } | ({ duplicate: false } & HandleResult);

const objectId = (e: Stripe.Event) => (e.data?.object as { id?: string })?.id ?? null;

/**
 * Records an event once and applies it, in one transaction. The insert claims the event id
 * (unique); a duplicate — even one arriving at the same moment — finds it taken and changes
 * nothing. A failed event is kept as failed, and a later delivery (or the sweep) finishes it.
 */
export async function receiveEvent(knex: Knex, p: Processor, event: Stripe.Event): Promise<InboxResult> {
  try {
    return await knex.transaction(async (tx) => {
      const claimed = await tx.raw(
        `insert into processor_events (event_id, type, object_id, livemode, payload, status)
         values (?, ?, ?, ?, ?, 'processed')
         on conflict (event_id) do update set attempts = processor_events.attempts + 1, payload = excluded.payload
           where processor_events.status = 'failed'
         returning id`,
        [event.id, event.type, objectId(event), !!event.livemode, JSON.stringify(event)],
      );
      if (!claimed.rows.length) return { duplicate: true as const };
      const result = await handleEvent(tx, p, event);
      await tx('processor_events')
        .where({ id: claimed.rows[0].id })
        .update({ status: result.status, note: result.note ?? null, last_error: null, processed_at: tx.fn.now() });
      return { duplicate: false as const, ...result };
    });
  } catch (e) {
    await recordFailure(knex, event, e as Error);
    throw e;
  }
}

async function recordFailure(knex: Knex, event: Stripe.Event, err: Error): Promise<void> {
  logger.error('processor event failed', { eventId: event.id, type: event.type, err: err.message });
  await knex
    .raw(
      `insert into processor_events (event_id, type, object_id, livemode, payload, status, last_error)
       values (?, ?, ?, ?, ?, 'failed', ?)
       on conflict (event_id) do update set status = 'failed', last_error = excluded.last_error
         where processor_events.status = 'failed'`,
      [event.id, event.type, objectId(event), !!event.livemode, JSON.stringify(event), err.message.slice(0, 2000)],
    )
    .catch((e: Error) => logger.error('could not record the failed event', { eventId: event.id, err: e.message }));
}

/** Failed events, oldest first, for the sweep to retry. */
export async function failedEvents(knex: Knex, limit = 100): Promise<Stripe.Event[]> {
  const rows = await knex('processor_events').where({ status: 'failed' }).orderBy('received_at').limit(limit).select('payload');
  return rows.map((r) => r.payload as Stripe.Event);
}
