import crypto from 'node:crypto';
import nock from 'nock';
import Stripe from 'stripe';
import { api } from './builders';
import { TEST_STRIPE } from './env';

/** Stripe-shaped objects (fields as in Stripe's own API fixtures), overridable per test. */
const rnd = () => crypto.randomBytes(8).toString('hex');

export function aSession(o: Partial<Stripe.Checkout.Session> & Record<string, unknown> = {}): Stripe.Checkout.Session {
  const id = (o.id as string) ?? `cs_test_${rnd()}`;
  return {
    id, object: 'checkout.session', mode: 'payment', status: 'open', payment_status: 'unpaid', livemode: false, created: Math.floor(Date.now() / 1000),
    expires_at: Math.floor(Date.now() / 1000) + 3600, amount_total: 0, amount_subtotal: 0, currency: 'cny', client_reference_id: null, metadata: {},
    payment_intent: null, url: `https://checkout.stripe.com/c/pay/${id}`, success_url: 'https://example.com/success', cancel_url: 'https://example.com/cancel',
    customer: null, customer_email: null, locale: null,
    ...o,
  } as unknown as Stripe.Checkout.Session;
}

export function anIntent(o: Partial<Stripe.PaymentIntent> & Record<string, unknown> = {}): Stripe.PaymentIntent {
  return {
    id: `pi_${rnd()}`, object: 'payment_intent', amount: 0, amount_received: 0, currency: 'cny', status: 'requires_payment_method', livemode: false,
    created: Math.floor(Date.now() / 1000), metadata: {}, latest_charge: null, payment_method_types: ['card'], last_payment_error: null,
    cancellation_reason: null, capture_method: 'automatic',
    ...o,
  } as unknown as Stripe.PaymentIntent;
}

export function aDispute(o: Partial<Stripe.Dispute> & Record<string, unknown> = {}): Stripe.Dispute {
  return {
    id: `dp_${rnd()}`, object: 'dispute', amount: 0, currency: 'cny', charge: `ch_${rnd()}`, payment_intent: null, status: 'needs_response',
    reason: 'general', livemode: false, created: Math.floor(Date.now() / 1000), metadata: {}, balance_transactions: [], is_charge_refundable: false,
    ...o,
  } as unknown as Stripe.Dispute;
}

export function anEvent(type: string, object: unknown, id = `evt_${rnd()}`): Stripe.Event {
  return {
    id, object: 'event', api_version: '2026-10-28.endive', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type, data: { object },
  } as unknown as Stripe.Event;
}

export interface SignOptions {
  secret?: string;
  timestamp?: number;
}

export function sign(payload: string, o: SignOptions = {}): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? TEST_STRIPE.webhookSecret, timestamp: o.timestamp });
}

/** Delivers an event to our webhook as Stripe does: the exact bytes, signed. */
export function deliver(event: Stripe.Event | string, o: SignOptions & { signature?: string | null } = {}) {
  const body = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const req = api().post('/webhooks/stripe').set('content-type', 'application/json; charset=utf-8');
  const signature = o.signature === undefined ? sign(body, o) : o.signature;
  if (signature !== null) req.set('stripe-signature', signature);
  return req.send(body);
}

export const stripeApi = () => nock('https://api.stripe.com');

/** Stripe sends form-encoded bodies; nock hands them over as text or as a parsed object. */
export function formBody(body: unknown): Record<string, string> {
  if (typeof body === 'string') return Object.fromEntries(new URLSearchParams(body));
  return body as Record<string, string>;
}

export function aRefund(o: Partial<Stripe.Refund> & Record<string, unknown> = {}): Stripe.Refund {
  return {
    id: `re_${rnd()}`, object: 'refund', amount: 0, currency: 'cny', status: 'succeeded', payment_intent: null, charge: null, metadata: {},
    reason: null, created: Math.floor(Date.now() / 1000), balance_transaction: `txn_${rnd()}`, failure_reason: null,
    ...o,
  } as unknown as Stripe.Refund;
}

/** After each test that stubs Stripe: every stub was called, and none is left for the next test. */
export function expectStripeStubsUsed(): void {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  if (pending.length) throw new Error(`Stripe stubs never called: ${pending.join(', ')}`);
}
