import type { Knex } from 'knex';
import type Stripe from 'stripe';
import { publicId } from '../auth/keys';
import { recordAudit } from '../audit/record';
import type { Config } from '../config';
import type { InvoiceRow } from '../invoices/present';
import { outstanding } from '../invoices/status';
import { money } from '../invoices/present';
import { AppError, NotFoundError } from '../shared/errors';
import { logger } from '../shared/logger';
import { applyObservation, type Observation } from './apply';
import { observeSession } from './observe';
import { attemptMayTakePayment, lockOpenAttempts, mayTakePayment } from './open-attempts';
import { presentPayment, type PaymentRow } from './payment-store';
import { feeDescription } from './fee-description';
import { nextPart } from './limits';
import { withinTimeout, type CallOptions, type Processor } from './processor';
import { isSettled } from './transitions';

export class ProcessorUnavailableError extends AppError {
  constructor(cause: string) {
    super('processor_unavailable', `the payment processor did not answer: ${cause}`, 503, { isOperational: true });
  }
}

type InvoiceForCheckout = InvoiceRow & { case_number: string };

export interface CheckoutResult {
  /** Where to send the payer: the processor's checkout page, or back to our own notice. */
  redirect: string;
}

/** An open attempt (pending, or declined on a session still open) can be reused while its session is open for a while yet and asks for what is to be paid now. */
function reusable(p: PaymentRow, amount: number): boolean {
  return p.amount === amount && p.expires_at.getTime() > Date.now() + 2 * 60_000;
}

/** What the pay button does next, decided under the invoice's lock. */
type Step =
  | { kind: 'notice' } // nothing to pay now, or an attempt is settling
  | { kind: 'open'; payment: PaymentRow } // hand out this attempt's session (made now if it has none)
  | { kind: 'retire'; payment: PaymentRow }; // end this attempt's session at the processor first

/** Rounds of decide → ask the processor → apply; more than a second race in a row is answered "try again". */
const MAX_ROUNDS = 3;

/**
 * The pay button: one open Checkout Session per invoice, for the outstanding amount — or, above
 * what one charge can be (MAX_CHARGE_FEN), for the largest part of it, the rest paid the same way
 * afterwards (the invoice is partially paid in between).
 *
 * The processor is never called inside a transaction: each round decides under the invoice's lock
 * and commits; the processor is asked with no transaction open; what it said is applied in a new
 * transaction that locks the rows again and re-plans on them as they are then (a webhook may have
 * moved them meanwhile), and the next round decides afresh. The payment row is committed before its
 * session is requested, and its id is the Stripe idempotency key, so a retry, a second click or a
 * second tab can only ever find the same session; the invoice's lock lets only one attempt be
 * pending at a time. `call`: the page's short, unretried calls (pageCallOptions).
 */
export async function startCheckout(knex: Knex, p: Processor, config: Readonly<Config>, token: string, lang: 'zh' | 'en', call: CallOptions = {}): Promise<CheckoutResult> {
  const notice = { redirect: `/pay/${token}?lang=${lang}` };
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const step = await knex.transaction((tx) => decide(tx, p, config, token));
    if (step.kind === 'notice') return notice;
    if (step.kind === 'open') return (await handOut(knex, p, config, step.payment, token, lang, call)) ?? notice;
    const ending = await endAtProcessor(p, step.payment, call);
    const after = await knex.transaction((tx) => applyObservation(tx, config, step.payment, ending.observation));
    if ((after.kind !== 'flagged' && isSettled(after.status)) || ending.settling) return notice;
  }
  throw new ProcessorUnavailableError('the open attempt kept changing while it was being replaced');
}

async function decide(tx: Knex.Transaction, p: Processor, config: Readonly<Config>, token: string): Promise<Step> {
  const invoice = await tx('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.payment_token', token).forUpdate('i').first<InvoiceForCheckout>('i.*', 'c.case_number');
  if (!invoice) throw new NotFoundError('payment link');
  const amount = nextPart(outstanding(money(invoice)));
  if (amount === 0) return { kind: 'notice' };
  // The latest attempt whose session may still take money: pending, or declined while Stripe keeps
  // its session open for another try. Any older one (from before declines were kept open) ends first.
  const [latest, ...older] = await lockOpenAttempts(tx, invoice.id);
  const stale = older.find((a) => a.checkout_session_id);
  if (stale) return { kind: 'retire', payment: stale };
  if (latest && reusable(latest, amount)) return { kind: 'open', payment: latest };
  if (latest?.checkout_session_id) return { kind: 'retire', payment: latest };
  // No session was recorded for it: none was handed out, so it can end here. Should its session
  // still be on its way (a click in another tab), handOut finds the attempt ended and expires it.
  if (latest) await applyObservation(tx, config, latest, { source: 'checkout-replaced', outcome: 'expired', failureReason: 'replaced by a new checkout', sessionClosed: true });
  return { kind: 'open', payment: await insertPayment(tx, p, config, invoice, amount) };
}

/** The attempt's session, made if it has none, recorded on the attempt if it may still take money (open-attempts.ts). Null: it ended meanwhile. */
async function handOut(knex: Knex, p: Processor, config: Readonly<Config>, payment: PaymentRow, token: string, lang: 'zh' | 'en', call: CallOptions): Promise<CheckoutResult | null> {
  if (payment.checkout_url) return { redirect: payment.checkout_url };
  let session: Stripe.Checkout.Session;
  try {
    session = await createSession(p, config, payment, token, lang, call, await feeDescription(knex, config, payment));
  } catch (e) {
    // Another tab may have made the same session meanwhile (its request differs only in language).
    const now = await knex<PaymentRow>('payments').where({ id: payment.id }).first();
    if (now && attemptMayTakePayment(now) && now.checkout_url) return { redirect: now.checkout_url };
    throw e;
  }
  const recorded = await mayTakePayment(knex('payments').where({ id: payment.id }))
    .where((q) => q.whereNull('checkout_session_id').orWhere('checkout_session_id', session.id))
    .update({ checkout_session_id: session.id, checkout_url: session.url, updated_at: new Date() });
  if (recorded) return { redirect: session.url! };
  // Replaced while its session was being made: that session is never handed out, and is closed.
  await withinTimeout(call, p.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: `courtpay-expire-${payment.public_id}`, ...call })).catch((e: Error) =>
    logger.warn('could not expire a session made for a replaced attempt; never handed out, it ends at its expiry', { paymentId: payment.public_id, err: e.message }),
  );
  return null;
}

async function insertPayment(tx: Knex.Transaction, p: Processor, config: Readonly<Config>, invoice: InvoiceForCheckout, amount: number): Promise<PaymentRow> {
  const [row] = await tx<PaymentRow>('payments')
    .insert({
      public_id: publicId('pay'),
      invoice_id: invoice.id,
      court_code: invoice.court_code,
      amount,
      processor: p.kind,
      // Whole seconds: the expiry is part of the (idempotent) session request and must not drift.
      expires_at: new Date(Math.floor(Date.now() / 1000 + config.stripe.checkout.expiresInMinutes * 60) * 1000),
    })
    .returning('*');
  await recordAudit(tx, { action: 'payment.started', entityType: 'payment', entityId: row.public_id, after: { ...presentPayment(row), invoiceId: invoice.public_id } }, 'litigant:payment-link');
  return row;
}

/** How an attempt being replaced ended at the processor: expired there now, or as it was already (paid, or still settling). */
interface Ending {
  observation: Observation;
  /** Completed by an asynchronous method still settling: the payer has paid; do not start another. */
  settling: boolean;
}

/** Ends an attempt's session at the processor, with no transaction open; what it says is applied by the caller. */
async function endAtProcessor(p: Processor, pending: PaymentRow, call: CallOptions): Promise<Ending> {
  const id = pending.checkout_session_id!;
  try {
    await withinTimeout(call, p.stripe.checkout.sessions.expire(id, {}, { idempotencyKey: `courtpay-expire-${pending.public_id}`, ...call }));
    return { observation: { source: 'checkout-replaced', outcome: 'expired', checkoutSessionId: id, failureReason: 'replaced by a new checkout', sessionClosed: true }, settling: false };
  } catch (e) {
    if ((e as Stripe.errors.StripeError).type !== 'StripeInvalidRequestError') throw new ProcessorUnavailableError((e as Error).message);
  }
  // Not open any more: completed or already expired. Ask Stripe what happened.
  let s: Stripe.Checkout.Session;
  try {
    s = await withinTimeout(call, p.stripe.checkout.sessions.retrieve(id, { expand: ['payment_intent'] }, call));
  } catch (e) {
    throw new ProcessorUnavailableError((e as Error).message);
  }
  if (s.status === 'open') throw new ProcessorUnavailableError(`session ${id} could not be expired and is still open`);
  const observation = observeSession(s, 'checkout-replaced');
  // Complete: paid, or an asynchronous method still settling — unless that payment failed for good.
  return { observation, settling: s.status === 'complete' && observation.outcome !== 'failed' };
}

async function createSession(p: Processor, config: Readonly<Config>, payment: PaymentRow, token: string, lang: 'zh' | 'en', call: CallOptions, description: string): Promise<Stripe.Checkout.Session> {
  const base = config.publicBaseUrl.replace(/\/$/, '');
  const methods = config.stripe.checkout.paymentMethodTypes as Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType[];
  const metadata = { payment_id: payment.public_id, court_code: payment.court_code };
  try {
    const request = p.stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [{ quantity: 1, price_data: { currency: 'cny', unit_amount: payment.amount, product_data: { name: description } } }],
        client_reference_id: payment.public_id,
        metadata,
        payment_intent_data: { metadata, description },
        allowed_payment_method_types: methods,
        ...(methods.includes('wechat_pay') ? { payment_method_options: { wechat_pay: { client: 'web' } } } : {}),
        expires_at: Math.floor(payment.expires_at.getTime() / 1000),
        success_url: `${base}/pay/${token}/return?lang=${lang}`,
        cancel_url: `${base}/pay/${token}/return?lang=${lang}`,
        locale: lang === 'en' ? 'en' : 'zh',
      },
      { idempotencyKey: `courtpay-checkout-${payment.public_id}`, ...call },
    );
    return await withinTimeout(call, request);
  } catch (e) {
    logger.warn('checkout session not created', { paymentId: payment.public_id, err: (e as Error).message });
    throw new ProcessorUnavailableError((e as Error).message);
  }
}
