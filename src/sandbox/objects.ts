import Stripe from 'stripe';
import { newId, nowSec } from './params';
import { present, type StripeObject } from './store';

/** Builders for the Stripe objects the sandbox makes, mirroring Stripe's shapes (stripe-mock fixtures). */
export type PaymentMethodType = 'card' | 'alipay' | 'wechat_pay';
export const PAYMENT_METHOD_TYPES: readonly PaymentMethodType[] = ['card', 'alipay', 'wechat_pay'];

export interface LineItem {
  name: string;
  unit_amount: number;
  quantity: number;
  currency: string;
}

/** The PaymentIntent a Checkout Session uses: one per session, reused across attempts. */
export function paymentIntentIdFor(sessionId: string): string {
  return `pi_${sessionId.replace(/^cs_test_/, '').slice(0, 24)}`;
}

export function balanceTransaction(o: { amount: number; fee: number; currency: string; source: string; type: string; description: string | null }): StripeObject {
  const created = nowSec();
  return {
    id: newId('txn'),
    object: 'balance_transaction',
    amount: o.amount,
    available_on: created,
    balance_type: 'payments',
    created,
    currency: o.currency,
    description: o.description,
    exchange_rate: null,
    fee: o.fee,
    fee_details: o.fee ? [{ amount: o.fee, application: null, currency: o.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: o.amount - o.fee,
    reporting_category: o.type,
    source: o.source,
    status: 'available',
    type: o.type,
  };
}

/** Half-up integer rounding of amount × bps / 10000: no floating point touches money. */
export function processorFee(amount: number, feeBps: number): number {
  return Math.floor((amount * feeBps + 5000) / 10000);
}

function methodDetails(method: PaymentMethodType, chargeId: string): Record<string, unknown> {
  const tail = chargeId.slice(-16);
  if (method === 'card') {
    return {
      type: 'card',
      card: { brand: 'visa', country: 'CN', exp_month: 12, exp_year: 2030, fingerprint: `fp${tail}`, funding: 'credit', last4: '4242', network: 'visa', three_d_secure: null, wallet: null },
    };
  }
  if (method === 'alipay') return { type: 'alipay', alipay: { buyer_id: `2088${tail.replace(/\D/g, '0')}`, fingerprint: `fp${tail}`, transaction_id: `2026${tail}` } };
  return { type: 'wechat_pay', wechat_pay: { fingerprint: `fp${tail}`, location: null, reader: null, transaction_id: `4200${tail}` } };
}

/** The payment method a payer used (Stripe's payment_method object): what `payment_method` on the intent and the charge names. */
export function paymentMethodObject(id: string, method: PaymentMethodType, email: string | null): StripeObject {
  const details = methodDetails(method, id);
  return {
    id, object: 'payment_method', allow_redisplay: 'unspecified', created: nowSec(), customer: null, livemode: false, metadata: {}, type: method,
    billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email, name: null, phone: null, tax_id: null },
    [method]: details[method],
  };
}

export function charge(o: { id: string; pi: StripeObject; method: PaymentMethodType; paymentMethod: string; txn: string; email: string | null }): StripeObject {
  const id = o.id;
  const amount = o.pi.amount as number;
  return {
    id,
    object: 'charge',
    amount,
    amount_captured: amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: o.txn,
    billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: o.email, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'COURTPAY SANDBOX',
    captured: true,
    created: nowSec(),
    currency: o.pi.currency,
    customer: null,
    description: o.pi.description ?? null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: o.pi.metadata,
    on_behalf_of: null,
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: true,
    payment_intent: o.pi.id,
    payment_method: o.paymentMethod,
    payment_method_details: methodDetails(o.method, id),
    receipt_email: o.email,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function paymentIntent(session: StripeObject): StripeObject {
  const id = paymentIntentIdFor(session.id);
  const data = (session._sandbox?.payment_intent_data ?? {}) as { metadata?: Record<string, string>; description?: string };
  return {
    id,
    object: 'payment_intent',
    amount: session.amount_total,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${id}_secret_${newId('s').slice(2)}`,
    confirmation_method: 'automatic',
    created: nowSec(),
    currency: session.currency,
    customer: null,
    description: data.description ?? null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: data.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: session.payment_method_types,
    processing: null,
    receipt_email: session.customer_email ?? null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
}

export function event(type: string, object: StripeObject, request: { id: string | null; idempotency_key: string | null }, previous?: Record<string, unknown>): StripeObject {
  return {
    id: newId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: nowSec(),
    data: previous ? { object: present(object), previous_attributes: previous } : { object: present(object) },
    livemode: false,
    pending_webhooks: 1,
    request,
    type,
  };
}
