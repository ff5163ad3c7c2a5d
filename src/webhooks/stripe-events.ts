import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import { applyDispute, applyObservation, OBSERVATION_CALLBACKS, PaymentNotSettledError, type ApplyResult, type Observation } from '../payments/apply';
import { findPayment, lockPayment, type PaymentRef } from '../payments/payment-store';
import type { Processor } from '../payments/processor';
import { ASYNC_PAYMENT_FAILED, idOf, observeCharge, observePaymentIntent } from '../payments/observe';
import { applyRefundObservation } from '../refunds/apply';
import { findRefund } from '../refunds/refund-store';

export interface HandleResult {
  status: 'processed' | 'ignored' | 'flagged';
  note?: string;
}

type Handler = (tx: Knex.Transaction, config: Readonly<Config>, p: Processor, event: Stripe.Event) => Promise<HandleResult>;

/** The id of the object an event is about (kept on its inbox row). */
export const objectId = (e: Stripe.Event) => (e.data?.object as { id?: string })?.id ?? null;

function sessionRef(s: Stripe.Checkout.Session): PaymentRef {
  return { paymentId: s.metadata?.payment_id ?? s.client_reference_id, checkoutSessionId: s.id, paymentIntentId: idOf(s.payment_intent) };
}

/** `closed`: the session can take no (more) payment after this event (observe.ts sessionClosed). */
function fromSession(s: Stripe.Checkout.Session, source: string, outcome: Observation['outcome'], closed: boolean): Observation {
  return { source, outcome, amount: s.amount_total ?? undefined, currency: s.currency ?? undefined, checkoutSessionId: s.id, paymentIntentId: idOf(s.payment_intent), ...(closed ? { sessionClosed: true } : {}) };
}

async function onPayment(tx: Knex.Transaction, config: Readonly<Config>, { ref, obs }: PaymentObservation): Promise<HandleResult> {
  const locked = await lockPayment(tx, ref, OBSERVATION_CALLBACKS);
  if (!locked) return NO_PAYMENT;
  return asResult(await applyObservation(tx, config, locked, obs));
}

export const NO_PAYMENT: HandleResult = { status: 'ignored', note: 'no payment of ours matches this event' };

export function asResult(r: ApplyResult): HandleResult {
  if (r.kind === 'flagged') return { status: 'flagged', note: r.reason };
  return { status: 'processed', note: r.kind === 'unchanged' ? `no change (payment is ${r.status})` : `payment ${r.status}` };
}

const session = (e: Stripe.Event) => e.data.object as Stripe.Checkout.Session;
const intent = (e: Stripe.Event) => e.data.object as Stripe.PaymentIntent;
const intentRef = (pi: Stripe.PaymentIntent): PaymentRef => ({ paymentId: pi.metadata?.payment_id, paymentIntentId: pi.id });
const charge = (e: Stripe.Event) => e.data.object as Stripe.Charge;
const chargeRef = (ch: Stripe.Charge): PaymentRef => ({ paymentId: ch.metadata?.payment_id, paymentIntentId: idOf(ch.payment_intent), chargeId: ch.id });

/** Which payment an event is about and what it says of it. */
export interface PaymentObservation {
  ref: PaymentRef;
  obs: Observation;
}

/** The events that move a payment (everything else about them is in applyObservation). */
const PAYMENT_EVENTS: Record<string, (e: Stripe.Event) => PaymentObservation> = {
  // 'unpaid' here means an asynchronous method is still settling: link the ids and wait.
  'checkout.session.completed': (e) => ({ ref: sessionRef(session(e)), obs: fromSession(session(e), e.id, session(e).payment_status === 'paid' ? 'succeeded' : undefined, session(e).payment_status === 'paid') }),
  'checkout.session.async_payment_succeeded': (e) => ({ ref: sessionRef(session(e)), obs: fromSession(session(e), e.id, 'succeeded', true) }),
  // The session is complete: unlike a declined card's, it takes no other try.
  'checkout.session.async_payment_failed': (e) => ({ ref: sessionRef(session(e)), obs: { ...fromSession(session(e), e.id, 'failed', true), failureReason: ASYNC_PAYMENT_FAILED } }),
  'checkout.session.expired': (e) => ({ ref: sessionRef(session(e)), obs: fromSession(session(e), e.id, 'expired', true) }),
  'payment_intent.succeeded': (e) => ({ ref: intentRef(intent(e)), obs: observePaymentIntent(intent(e), e.id) }),
  // One failed attempt: the Checkout Session stays open and the payer may try again.
  'payment_intent.payment_failed': (e) => ({ ref: intentRef(intent(e)), obs: observePaymentIntent(intent(e), e.id) }),
  'payment_intent.canceled': (e) => ({ ref: intentRef(intent(e)), obs: observePaymentIntent(intent(e), e.id) }),
  // The charge names the method the payer chose (payment_method_details.type); it moves no money.
  'charge.succeeded': (e) => ({ ref: chargeRef(charge(e)), obs: observeCharge(charge(e), e.id) }),
};

/** The payment observation an event carries, or null for events about something else. */
export function paymentObservation(e: Stripe.Event): PaymentObservation | null {
  const of = PAYMENT_EVENTS[e.type];
  return of ? of(e) : null;
}

/** What each event type means for our payments. Unknown types are recorded and ignored. */
export const HANDLERS: Record<string, Handler> = {
  ...Object.fromEntries(Object.entries(PAYMENT_EVENTS).map(([type, of]) => [type, ((tx, config, _p, e) => onPayment(tx, config, of(e))) as Handler])),
  'refund.created': (tx, config, _p, e) => onRefund(tx, config, e.data.object as Stripe.Refund, e.id),
  'refund.updated': (tx, config, _p, e) => onRefund(tx, config, e.data.object as Stripe.Refund, e.id),
  'refund.failed': (tx, config, _p, e) => onRefund(tx, config, e.data.object as Stripe.Refund, e.id),
  'charge.refunded': async (tx, config, _p, e) => {
    // Recent API versions leave charge.refunds out; the refund.* events carry the same news.
    const refunds = (e.data.object as Stripe.Charge).refunds?.data ?? [];
    if (!refunds.length) return { status: 'ignored', note: 'no refunds listed on the charge; refund.* events settle them' };
    const results = [];
    for (const r of refunds) results.push(await onRefund(tx, config, r, e.id));
    return results.find((r) => r.status === 'flagged') ?? results.find((r) => r.status === 'processed') ?? results[0];
  },
  'charge.dispute.created': (tx, config, _p, e) => onDispute(tx, config, e, 'open'),
  'charge.dispute.closed': (tx, config, _p, e) => onDispute(tx, config, e, (e.data.object as Stripe.Dispute).status === 'lost' ? 'lost' : 'won'),
};

async function onDispute(tx: Knex.Transaction, config: Readonly<Config>, e: Stripe.Event, status: 'open' | 'won' | 'lost'): Promise<HandleResult> {
  const d = e.data.object as Stripe.Dispute;
  const payment = await findPayment(tx, { chargeId: idOf(d.charge), paymentIntentId: idOf(d.payment_intent) });
  if (!payment) return { status: 'ignored', note: 'no payment of ours matches this dispute' };
  const obs = { source: e.id, disputeId: d.id, status, amount: d.amount, currency: d.currency };
  try {
    return asResult(await applyDispute(tx, config, payment, obs));
  } catch (err) {
    if (!(err instanceof PaymentNotSettledError) || !payment.payment_intent_id) throw err;
    // The dispute overtook the payment's own success event: Stripe is asked where the payment
    // stands, but not here, with the rows locked — the event's transaction is undone first.
    const intentId = payment.payment_intent_id;
    throw new AskProcessorFirst(err.message, async (knex, processor) => {
      const pi = await processor.stripe.paymentIntents.retrieve(intentId);
      await knex.transaction((t) => applyObservation(t, config, payment, observePaymentIntent(pi, `${e.id}:retrieved`)));
    });
  }
}

/**
 * Thrown inside an event's transaction when applying the event needs the processor's answer first.
 * The transaction rolls back (nothing of the event is kept, its claim included); `ask` calls the
 * processor with no transaction open and applies what it said in a transaction of its own; then the
 * event is applied again from the start, on the rows as they are by then (inbox.ts). Never called
 * with row locks held, so a slow processor blocks no other event for the same payment.
 */
export class AskProcessorFirst extends Error {
  constructor(message: string, readonly ask: (knex: Knex, p: Processor) => Promise<void>) {
    super(message);
  }
}

async function onRefund(tx: Knex.Transaction, config: Readonly<Config>, r: Stripe.Refund, source: string): Promise<HandleResult> {
  const ours = await findRefund(tx, { refundId: r.metadata?.refund_id, processorRefundId: r.id });
  if (!ours) return { status: 'ignored', note: 'no refund of ours matches this event' };
  const result = await applyRefundObservation(tx, config, ours, {
    source, processorRefundId: r.id, processorStatus: r.status, amount: r.amount, currency: r.currency, failureReason: r.failure_reason ?? null,
  });
  if (result.kind === 'flagged') return { status: 'flagged', note: result.reason };
  return { status: 'processed', note: result.kind === 'unchanged' ? `no change (refund is ${result.status})` : `refund ${result.status}` };
}

export async function handleEvent(tx: Knex.Transaction, config: Readonly<Config>, p: Processor, event: Stripe.Event): Promise<HandleResult> {
  const handler = HANDLERS[event.type];
  if (!handler) return { status: 'ignored', note: `event type ${event.type} is not used` };
  return handler(tx, config, p, event);
}
