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
import { applyObservation } from './apply';
import { observeSession } from './observe';
import { presentPayment, type PaymentRow } from './payment-store';
import { nextPart } from './limits';
import type { Processor } from './processor';

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

/** A pending attempt can be reused while its session is open for a while yet and asks for what is to be paid now. */
function reusable(p: PaymentRow, amount: number): boolean {
  return p.amount === amount && p.expires_at.getTime() > Date.now() + 2 * 60_000;
}

/**
 * The pay button: one open Checkout Session per invoice, for the outstanding amount — or, above
 * what one charge can be (MAX_CHARGE_FEN), for the largest part of it, the rest paid the same way
 * afterwards (the invoice is partially paid in between). The payment
 * row is committed before Stripe is called, and its id is the Stripe idempotency key, so a retry
 * or a second click can only ever find the same session.
 */
export async function startCheckout(knex: Knex, p: Processor, config: Readonly<Config>, token: string, lang: 'zh' | 'en'): Promise<CheckoutResult> {
  const notice = `/pay/${token}?lang=${lang}`;
  const payment = await knex.transaction(async (tx) => {
    const invoice = await tx('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.payment_token', token).forUpdate('i').first<InvoiceForCheckout>('i.*', 'c.case_number');
    if (!invoice) throw new NotFoundError('payment link');
    const amount = nextPart(outstanding(money(invoice)));
    if (amount === 0) return null;
    const pending = await tx<PaymentRow>('payments').where({ invoice_id: invoice.id, status: 'pending' }).forUpdate().first();
    if (pending && reusable(pending, amount)) return pending;
    if (pending && (await retire(tx, p, pending)) === 'settled') return null;
    return insertPayment(tx, p, config, invoice, amount);
  });
  if (!payment) return { redirect: notice };
  if (payment.checkout_url) return { redirect: payment.checkout_url };

  const session = await createSession(p, config, payment, token, lang);
  await knex('payments').where({ id: payment.id }).whereNull('checkout_session_id').update({ checkout_session_id: session.id, checkout_url: session.url, updated_at: new Date() });
  return { redirect: session.url! };
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

/** Ends an attempt that can no longer be used: expire its session first; if it was paid meanwhile, settle it. */
async function retire(tx: Knex.Transaction, p: Processor, pending: PaymentRow): Promise<'settled' | 'expired'> {
  if (pending.checkout_session_id) {
    try {
      await p.stripe.checkout.sessions.expire(pending.checkout_session_id, {}, { idempotencyKey: `courtpay-expire-${pending.public_id}` });
    } catch (e) {
      if ((e as Stripe.errors.StripeError).type !== 'StripeInvalidRequestError') throw new ProcessorUnavailableError((e as Error).message);
      // Not open any more: completed or already expired. Ask Stripe what happened and apply it.
      const s = await p.stripe.checkout.sessions.retrieve(pending.checkout_session_id, { expand: ['payment_intent'] });
      const r = await applyObservation(tx, pending, observeSession(s, 'checkout-replaced'));
      if (r.kind === 'applied' && r.status === 'succeeded') return 'settled';
      if (s.status === 'complete') return 'settled'; // paid by an asynchronous method still settling: do not start another
    }
  }
  await applyObservation(tx, pending, { source: 'checkout-replaced', outcome: 'expired', failureReason: 'replaced by a new checkout' });
  return 'expired';
}

async function createSession(p: Processor, config: Readonly<Config>, payment: PaymentRow, token: string, lang: 'zh' | 'en'): Promise<Stripe.Checkout.Session> {
  const base = config.publicBaseUrl.replace(/\/$/, '');
  const methods = config.stripe.checkout.paymentMethodTypes as Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType[];
  const metadata = { payment_id: payment.public_id, court_code: payment.court_code };
  try {
    return await p.stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [{ quantity: 1, price_data: { currency: 'cny', unit_amount: payment.amount, product_data: { name: `诉讼费 Court fee ${payment.public_id}` } } }],
        client_reference_id: payment.public_id,
        metadata,
        payment_intent_data: { metadata },
        allowed_payment_method_types: methods,
        ...(methods.includes('wechat_pay') ? { payment_method_options: { wechat_pay: { client: 'web' } } } : {}),
        expires_at: Math.floor(payment.expires_at.getTime() / 1000),
        success_url: `${base}/pay/${token}/return?lang=${lang}`,
        cancel_url: `${base}/pay/${token}/return?lang=${lang}`,
        locale: lang === 'en' ? 'en' : 'zh',
      },
      { idempotencyKey: `courtpay-checkout-${payment.public_id}` },
    );
  } catch (e) {
    logger.warn('checkout session not created', { paymentId: payment.public_id, err: (e as Error).message });
    throw new ProcessorUnavailableError((e as Error).message);
  }
}
