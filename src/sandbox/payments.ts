import type { Knex } from 'knex';
import { invalid, noSuch } from './errors';
import { balanceTransaction, charge, paymentIntent, paymentIntentIdFor, paymentMethodObject, processorFee, type PaymentMethodType } from './objects';
import { newId, nowSec, type Params } from './params';
import { run, type Ctx, type Idempotency, type RunResult, type Unit } from './runtime';
import { buildSession } from './checkout-session';
import { store, type StripeObject } from './store';

/** Checkout Sessions and what a payer does on one: pay, decline, let it expire. */
export function createSession(ctx: Ctx, params: Params, version: string, idem?: Idempotency): Promise<RunResult<StripeObject>> {
  return run(ctx, async ({ tx }) => {
    const session = buildSession(params, ctx.publicBaseUrl, version);
    await store.insert(tx, session);
    return session;
  }, idem);
}

const isDue = (s: StripeObject) => s.status === 'open' && (s.expires_at as number) <= nowSec();

/** A session past its expires_at is expired (stored, and checkout.session.expired sent) the first time anyone looks. */
export async function getSession(ctx: Ctx, id: string): Promise<StripeObject> {
  const s = await store.get(ctx.knex, id);
  if (!s || s.object !== 'checkout.session') throw noSuch('checkout.session', id);
  return isDue(s) ? (await expireSession(ctx, id, 'timeout')).result : s;
}

async function lockSession(tx: Knex.Transaction, id: string): Promise<StripeObject> {
  const s = await store.lock(tx, id);
  if (!s || s.object !== 'checkout.session') throw noSuch('checkout.session', id);
  return s;
}

export function expireSession(ctx: Ctx, id: string, why: 'request' | 'timeout', idem?: Idempotency): Promise<RunResult<StripeObject>> {
  return run(ctx, async (u) => {
    const s = await lockSession(u.tx, id);
    if (why === 'timeout' && !isDue(s)) return s; // someone else got there first
    if (s.status !== 'open') throw invalid('Only Checkout Sessions with a status of open can be expired.', undefined, 'checkout_session_not_open');
    Object.assign(s, { status: 'expired', url: null });
    await store.update(u.tx, s);
    const pi = await store.lock(u.tx, paymentIntentIdFor(s.id));
    if (pi) {
      Object.assign(pi, { status: 'canceled', canceled_at: nowSec(), cancellation_reason: 'abandoned' });
      await store.update(u.tx, pi);
      await u.emit('payment_intent.canceled', pi, pi.id);
    }
    await u.emit('checkout.session.expired', s, paymentIntentIdFor(s.id));
    return s;
  }, idem);
}

/** The session, locked, if a payer may still act on it. */
async function openSession(u: Unit, id: string, method: string | undefined): Promise<StripeObject> {
  const s = await lockSession(u.tx, id);
  if (s.status !== 'open' || isDue(s)) throw invalid(`This Checkout Session is no longer open (status: ${isDue(s) ? 'expired' : String(s.status)}).`, undefined, 'checkout_session_not_open');
  if (method !== undefined && !(s.payment_method_types as string[]).includes(method)) throw invalid(`The payment method ${method} is not enabled on this Checkout Session.`, 'payment_method_types');
  return s;
}

async function upsertIntent(u: Unit, session: StripeObject): Promise<{ pi: StripeObject; isNew: boolean }> {
  const existing = await store.lock(u.tx, paymentIntentIdFor(session.id));
  return existing ? { pi: existing, isNew: false } : { pi: paymentIntent(session), isNew: true };
}

export async function pay(ctx: Ctx, id: string, method: PaymentMethodType = 'card'): Promise<StripeObject> {
  await getSession(ctx, id);
  const { result } = await run(ctx, async (u) => {
    const s = await openSession(u, id, method);
    const { pi, isNew } = await upsertIntent(u, s);
    const amount = pi.amount as number;
    const currency = pi.currency as string;
    const chargeId = newId('ch');
    const txn = balanceTransaction({ amount, fee: processorFee(amount, ctx.feeBps), currency, source: chargeId, type: 'charge', description: (pi.description as string | null) ?? null });
    const email = (s.customer_email as string | null) ?? null;
    // A real payment method object, as Stripe's: expand[]=payment_intent.payment_method names its type.
    const pm = paymentMethodObject(newId('pm'), method, email);
    const paymentMethod = pm.id;
    const ch = charge({ id: chargeId, pi, method, paymentMethod, txn: txn.id, email });
    Object.assign(pi, { status: 'succeeded', amount_received: amount, latest_charge: ch.id, payment_method: paymentMethod, last_payment_error: null });
    Object.assign(s, {
      status: 'complete',
      payment_status: 'paid',
      payment_intent: pi.id,
      url: null,
      customer_details: { address: null, email, name: null, phone: null, tax_exempt: 'none', tax_ids: [] },
    });
    await store.insert(u.tx, ...(isNew ? [pi] : []), pm, ch, txn);
    if (!isNew) await store.update(u.tx, pi);
    await store.update(u.tx, s);
    await u.emit('payment_intent.succeeded', pi, pi.id);
    await u.emit('charge.succeeded', ch, pi.id);
    await u.emit('checkout.session.completed', s, pi.id);
    return s;
  });
  return result;
}

/** A declined attempt: the intent records the error, the session stays open for another try. */
export async function decline(ctx: Ctx, id: string, method?: PaymentMethodType): Promise<StripeObject> {
  await getSession(ctx, id);
  const { result } = await run(ctx, async (u) => {
    const s = await openSession(u, id, method);
    const { pi, isNew } = await upsertIntent(u, s);
    const paymentMethod = { id: newId('pm'), object: 'payment_method', type: method ?? (s.payment_method_types as string[])[0], created: nowSec(), livemode: false };
    Object.assign(pi, {
      status: 'requires_payment_method',
      payment_method: null,
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        doc_url: 'https://stripe.com/docs/error-codes/card-declined',
        message: 'Your card was declined.',
        payment_method: paymentMethod,
      },
    });
    if (isNew) await store.insert(u.tx, pi);
    else await store.update(u.tx, pi);
    await u.emit('payment_intent.payment_failed', pi, pi.id);
    return s;
  });
  return result;
}
