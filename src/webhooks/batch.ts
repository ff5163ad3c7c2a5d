import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import { OBSERVATION_CALLBACKS, planObservation } from '../payments/apply';
import { readPaymentStates } from '../payments/payment-store';
import { writeSettlements, type Settlement } from '../payments/settle-statement';
import { currentContext, runWithContext, type RequestContext } from '../shared/context';
import { asResult, NO_PAYMENT, objectId, type HandleResult, type PaymentObservation } from './stripe-events';

export type InboxResult = { duplicate: true } | ({ duplicate: false } & HandleResult);

/** A payment event waiting for its batch. */
interface Job {
  event: Stripe.Event;
  payload: string;
  observation: PaymentObservation;
  /** The request's context: the event is planned in it, so its audit row carries that request's id. */
  context: RequestContext | undefined;
  /** Null: not settled here; the caller applies it the locking way, on its own. */
  done(result: InboxResult | null): void;
}

/** Events to one statement at most, and statements in flight at once (each holds a pooled connection). */
const MAX_BATCH = 64;
const CONCURRENT_BATCHES = 2;

/**
 * Group commit for payment events. Each webhook request hands its event over and waits; whatever
 * has arrived while earlier batches were in flight goes together: one statement reads every event's
 * inbox status and payment, each event is planned on its own (planObservation, in its request's
 * context), and one statement writes every claim and change as compare-and-set, then commits. Each
 * request is answered only after that commit, with its own event's outcome. Under no load a batch
 * is one event and waits for nothing.
 *
 * Atomic per batch, so atomic per event. If anything in the batch cannot be written — a row moved
 * since it was read, or an event whose change fails — nothing is, and every event of the batch is
 * applied on its own the locking way, where a failure is only that event's (recorded, answered 5xx).
 */
export class PaymentEventBatcher {
  private queue: Job[] = [];
  private running = 0;

  constructor(private readonly knex: Knex, private readonly config: Readonly<Config>) {}

  settle(event: Stripe.Event, payload: string, observation: PaymentObservation): Promise<InboxResult | null> {
    return new Promise((done) => {
      this.queue.push({ event, payload, observation, context: currentContext(), done });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < CONCURRENT_BATCHES && this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Job[]): Promise<void> {
    const outcome = new Map<Job, InboxResult | null>();
    try {
      const reads = await readPaymentStates(this.knex, batch.map((j) => ({ eventId: j.event.id, ref: j.observation.ref })), OBSERVATION_CALLBACKS);
      const settlements: Settlement[] = [];
      const planned: { job: Job; result: HandleResult }[] = [];
      const taken = { events: new Set<string>(), payments: new Set<number>(), invoices: new Set<number>() };
      batch.forEach((job, i) => {
        const { inboxStatus, state } = reads[i];
        if (inboxStatus && inboxStatus !== 'failed') return outcome.set(job, { duplicate: true });
        // Two settlements in one statement must not touch the same rows: the second goes on its own.
        if (taken.events.has(job.event.id) || (state && (taken.payments.has(state.payment.id) || taken.invoices.has(state.invoice.id)))) return;
        taken.events.add(job.event.id);
        if (state) {
          taken.payments.add(state.payment.id);
          taken.invoices.add(state.invoice.id);
        }
        const plan = !state ? null : job.context ? runWithContext(job.context, () => planObservation(this.config, state, job.observation.obs)) : planObservation(this.config, state, job.observation.obs);
        const result = plan ? asResult(plan.result) : NO_PAYMENT;
        const e = job.event;
        const row = { event_id: e.id, type: e.type, object_id: objectId(e), livemode: !!e.livemode, status: result.status, note: result.note ?? null };
        settlements.push({ state, write: plan?.write ?? null, claim: { row, payload: job.payload } });
        planned.push({ job, result });
      });
      if (settlements.length) {
        const claimed = await writeSettlements(this.knex, settlements);
        for (const { job, result } of planned) outcome.set(job, claimed.has(job.event.id) ? { duplicate: false, ...result } : { duplicate: true });
      }
    } catch {
      // Nothing of the batch's writes happened: every event not yet answered goes the locking way.
    }
    for (const job of batch) job.done(outcome.get(job) ?? null);
  }
}

const batchers = new WeakMap<Knex, WeakMap<Readonly<Config>, PaymentEventBatcher>>();

/** The batcher of a database (one per pool) and the configuration its callbacks are presented with. */
export function batcherFor(knex: Knex, config: Readonly<Config>): PaymentEventBatcher {
  let byConfig = batchers.get(knex);
  if (!byConfig) batchers.set(knex, (byConfig = new WeakMap()));
  let b = byConfig.get(config);
  if (!b) byConfig.set(config, (b = new PaymentEventBatcher(knex, config)));
  return b;
}
