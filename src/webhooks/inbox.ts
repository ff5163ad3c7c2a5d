import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Processor } from '../payments/processor';
import { databaseMessage } from '../db';
import { logger } from '../shared/logger';
import { batcherFor, type InboxResult } from './batch';
import { AskProcessorFirst, handleEvent, objectId, paymentObservation } from './stripe-events';

export type { InboxResult } from './batch';

/**
 * Records an event once and applies it, atomically. The inbox claim takes the event id (unique);
 * a duplicate — even one arriving at the same moment — finds it taken and changes nothing. A
 * failed event is kept as failed, and a later delivery (or the sweep) finishes it.
 *
 * An event about a payment goes through the batcher (batch.ts): no locks, two statements shared with
 * the events that arrived with it — read the payments, plan each change, write claims and changes as
 * one compare-and-set. If that cannot be written, the event is applied again the locking way: a
 * transaction with the claim, the rows locked, the same plan written.
 */
export async function receiveEvent(knex: Knex, config: Readonly<Config>, p: Processor, event: Stripe.Event, raw?: string): Promise<InboxResult> {
  const payload = raw ?? JSON.stringify(event);
  try {
    const observation = paymentObservation(event);
    if (observation) {
      const settled = await batcherFor(knex, config).settle(event, payload, observation);
      if (settled) return settled;
    }
    return await applyLocking(knex, config, p, event, payload);
  } catch (e) {
    await recordFailure(knex, event, payload, e as Error);
    throw e;
  }
}

/**
 * The locking way: the claim, the rows locked, the change, in one transaction. An event that needs
 * the processor's answer first (AskProcessorFirst) has that asked with no transaction open, then is
 * applied once more from the start; needing it again is a failure, recorded for a redelivery.
 */
async function applyLocking(knex: Knex, config: Readonly<Config>, p: Processor, event: Stripe.Event, payload: string): Promise<InboxResult> {
  for (let asked = false; ; asked = true) {
    try {
      return await claimAndHandle(knex, config, p, event, payload);
    } catch (e) {
      if (!(e instanceof AskProcessorFirst) || asked) throw e;
      await e.ask(knex, p);
    }
  }
}

async function claimAndHandle(knex: Knex, config: Readonly<Config>, p: Processor, event: Stripe.Event, payload: string): Promise<InboxResult> {
  return knex.transaction(async (tx) => {
    const claimed = await tx.raw(
      `insert into processor_events (event_id, type, object_id, livemode, payload, status)
       values (?, ?, ?, ?, ?, 'processed')
       on conflict (event_id) do update set attempts = processor_events.attempts + 1, payload = excluded.payload
         where processor_events.status = 'failed'
       returning id`,
      [event.id, event.type, objectId(event), !!event.livemode, payload],
    );
    if (!claimed.rows.length) return { duplicate: true as const };
    const result = await handleEvent(tx, config, p, event);
    await tx('processor_events')
      .where({ id: claimed.rows[0].id })
      .update({ status: result.status, note: result.note ?? null, last_error: null, processed_at: tx.fn.now() });
    return { duplicate: false as const, ...result };
  });
}

async function recordFailure(knex: Knex, event: Stripe.Event, payload: string, err: Error): Promise<void> {
  logger.error('processor event failed', { eventId: event.id, type: event.type, err: err.message });
  await knex
    .raw(
      `insert into processor_events (event_id, type, object_id, livemode, payload, status, last_error)
       values (?, ?, ?, ?, ?, 'failed', ?)
       on conflict (event_id) do update set status = 'failed', last_error = excluded.last_error
         where processor_events.status = 'failed'`,
      [event.id, event.type, objectId(event), !!event.livemode, payload, databaseMessage(err).slice(0, 2000)],
    )
    .catch((e: Error) => logger.error('could not record the failed event', { eventId: event.id, err: e.message }));
}

/** Failed events, oldest first, for the sweep to retry. */
export async function failedEvents(knex: Knex, limit = 100): Promise<Stripe.Event[]> {
  const rows = await knex('processor_events').where({ status: 'failed' }).orderBy('received_at').limit(limit).select('payload');
  return rows.map((r) => r.payload as Stripe.Event);
}
