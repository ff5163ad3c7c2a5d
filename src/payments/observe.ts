import type Stripe from 'stripe';
import type { Observation } from './apply';

const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : (v?.id ?? null));

/** What a PaymentIntent (from an event or retrieved) says about our payment. */
export function observePaymentIntent(pi: Stripe.PaymentIntent, source: string): Observation {
  const base = {
    source,
    paymentIntentId: pi.id,
    chargeId: idOf(pi.latest_charge),
    paymentMethodType: pi.payment_method_types?.length === 1 ? pi.payment_method_types[0] : null,
  };
  switch (pi.status) {
    case 'succeeded':
      return { ...base, outcome: 'succeeded', amount: pi.amount_received, currency: pi.currency };
    case 'canceled':
      return { ...base, outcome: 'canceled', failureReason: pi.cancellation_reason ?? 'canceled' };
    default:
      return { ...base, failureReason: pi.last_payment_error ? `${pi.last_payment_error.code ?? 'error'}: ${pi.last_payment_error.message ?? ''}`.trim() : null };
  }
}

/** What a Checkout Session (retrieved, with its payment_intent expanded or not) says about our payment. */
export function observeSession(s: Stripe.Checkout.Session, source: string): Observation {
  const pi = typeof s.payment_intent === 'object' && s.payment_intent ? s.payment_intent : null;
  if (pi && pi.status === 'succeeded') return { ...observePaymentIntent(pi, source), checkoutSessionId: s.id };
  const base = { source, checkoutSessionId: s.id, paymentIntentId: idOf(s.payment_intent), amount: s.amount_total ?? undefined, currency: s.currency ?? undefined };
  if (s.status === 'complete' && s.payment_status === 'paid') return { ...base, outcome: 'succeeded' };
  if (s.status === 'expired') return { ...base, outcome: 'expired' };
  return base;
}
