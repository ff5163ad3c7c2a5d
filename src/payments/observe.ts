import type Stripe from 'stripe';
import type { Observation } from './apply';

/** The id of a Stripe reference, whether the field came as an id or expanded into the object. */
export const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' && 'id' in v ? String((v as { id: unknown }).id) : null);

/**
 * The method the payer used, as Stripe shows it: the charge's payment_method_details.type, else the
 * payment method's type when either is expanded, else the only type the intent allows. An intent
 * made by Checkout lists every type the session offered (payment_method_types) and names the one
 * used only by id: then it is left for the charge (charge.succeeded) to tell.
 */
export function methodOfIntent(pi: Stripe.PaymentIntent): string | null {
  const charge = typeof pi.latest_charge === 'object' ? pi.latest_charge : null;
  const method = typeof pi.payment_method === 'object' ? pi.payment_method : null;
  return charge?.payment_method_details?.type ?? method?.type ?? (pi.payment_method_types?.length === 1 ? pi.payment_method_types[0] : null);
}

/**
 * What a PaymentIntent (from an event or retrieved) says about our payment. A decline leaves the
 * intent open (requires_payment_method with last_payment_error) so the payer can try again on the
 * same Checkout page: the attempt has failed, and a later success on the same intent still settles
 * it (transitions.ts lets failed money become succeeded).
 */
export function observePaymentIntent(pi: Stripe.PaymentIntent, source: string): Observation {
  const base = { source, paymentIntentId: pi.id, chargeId: idOf(pi.latest_charge) };
  const failure = pi.last_payment_error ? `${pi.last_payment_error.code ?? 'error'}: ${pi.last_payment_error.message ?? ''}`.trim() : null;
  switch (pi.status) {
    case 'succeeded':
      return { ...base, paymentMethodType: methodOfIntent(pi), outcome: 'succeeded', amount: pi.amount_received, currency: pi.currency };
    case 'canceled':
      return { ...base, outcome: 'canceled', failureReason: pi.cancellation_reason ?? 'canceled' };
    case 'requires_payment_method':
      return failure ? { ...base, outcome: 'failed', failureReason: failure } : base;
    case 'processing':
      return { ...base, paymentMethodType: methodOfIntent(pi), failureReason: failure };
    default:
      return { ...base, failureReason: failure };
  }
}

/** What a Charge says: which intent and method it belongs to. The intent's own events settle the money. */
export function observeCharge(ch: Stripe.Charge, source: string): Observation {
  return { source, paymentIntentId: idOf(ch.payment_intent), chargeId: ch.id, paymentMethodType: ch.payment_method_details?.type ?? null };
}

/** The failure an asynchronous method's final failure records (checkout.session.async_payment_failed, or the session retrieved). */
export const ASYNC_PAYMENT_FAILED = 'asynchronous payment failed';

const intentOf = (s: Stripe.Checkout.Session) => (typeof s.payment_intent === 'object' && s.payment_intent ? s.payment_intent : null);

/** Complete, its asynchronous payment failed for good: the intent is back to needing a method, and a complete session takes no other try. */
const asyncFailed = (s: Stripe.Checkout.Session) => s.status === 'complete' && s.payment_status === 'unpaid' && ['requires_payment_method', 'canceled'].includes(intentOf(s)?.status ?? '');

/**
 * Whether a Checkout Session can take no (more) payment: expired, complete and paid, or complete with
 * its asynchronous payment failed. Open (also after a declined card: Stripe lets the payer try again
 * there), or complete with an asynchronous payment still settling, it can.
 */
export const sessionClosed = (s: Stripe.Checkout.Session): boolean => s.status === 'expired' || (s.status === 'complete' && (s.payment_status !== 'unpaid' || asyncFailed(s)));

/** What a Checkout Session (retrieved, with its payment_intent expanded or not) says about our payment. */
export function observeSession(s: Stripe.Checkout.Session, source: string): Observation {
  const pi = intentOf(s);
  if (pi && pi.status === 'succeeded') return { ...observePaymentIntent(pi, source), checkoutSessionId: s.id, sessionClosed: true };
  const base = { source, checkoutSessionId: s.id, paymentIntentId: idOf(s.payment_intent), amount: s.amount_total ?? undefined, currency: s.currency ?? undefined, ...(sessionClosed(s) ? { sessionClosed: true } : {}) };
  if (s.status === 'complete' && s.payment_status === 'paid') return { ...base, outcome: 'succeeded' };
  if (s.status === 'expired') return { ...base, outcome: 'expired' };
  if (asyncFailed(s)) return { ...base, outcome: 'failed', failureReason: ASYNC_PAYMENT_FAILED };
  return base;
}
