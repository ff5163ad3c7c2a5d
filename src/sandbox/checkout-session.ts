import { MAX_CHARGE_FEN } from '../payments/limits';
import { invalid, missingParam } from './errors';
import { PAYMENT_METHOD_TYPES, type LineItem } from './objects';
import { allowOnly, asParams, int, list, metadata, newId, nowSec, oneOf, reqStr, str, strList, type Params } from './params';
import type { StripeObject } from './store';

/** POST /v1/checkout/sessions: the parameters the sandbox knows, checked as Stripe checks them. */
const ALLOWED = [
  'mode', 'line_items', 'client_reference_id', 'metadata', 'payment_intent_data', 'success_url', 'cancel_url', 'expires_at',
  'payment_method_types', 'allowed_payment_method_types', 'excluded_payment_method_types', 'payment_method_options', 'customer_email', 'locale', 'submit_type', 'ui_mode', 'expand',
] as const;
const LOCALES = ['auto', 'zh', 'zh-HK', 'zh-TW', 'en', 'en-GB'] as const;

function lineItems(p: Params): LineItem[] {
  const raw = list(p, 'line_items');
  if (raw.length === 0) throw invalid('You must provide at least one line item in `payment` mode.', 'line_items', 'parameter_missing');
  return raw.map((li, i) => {
    const at = `line_items[${i}]`;
    const item = asParams(li);
    if (item.price !== undefined) throw invalid(`No such price: '${String(item.price)}' (the sandbox takes ${at}[price_data] only)`, `${at}[price]`, 'resource_missing');
    allowOnly(item, ['price_data', 'quantity'], at);
    const pd = asParams(item.price_data);
    if (item.price_data === undefined) throw missingParam(`${at}[price_data]`);
    allowOnly(pd, ['currency', 'unit_amount', 'product_data'], `${at}[price_data]`);
    const product = asParams(pd.product_data);
    allowOnly(product, ['name', 'description'], `${at}[price_data][product_data]`);
    const unit = int(pd, 'unit_amount', `${at}[price_data][unit_amount]`);
    if (unit === undefined) throw missingParam(`${at}[price_data][unit_amount]`);
    if (unit < 0) throw invalid('This value must be greater than or equal to 0.', `${at}[price_data][unit_amount]`, 'parameter_invalid_integer');
    const quantity = int(item, 'quantity', `${at}[quantity]`);
    if (quantity === undefined) throw missingParam(`${at}[quantity]`);
    if (quantity < 1) throw invalid('This value must be greater than or equal to 1.', `${at}[quantity]`, 'parameter_invalid_integer');
    return {
      name: reqStr(product, 'name', `${at}[price_data][product_data][name]`),
      unit_amount: unit,
      quantity,
      currency: reqStr(pd, 'currency', `${at}[price_data][currency]`).toLowerCase(),
    };
  });
}

function expiresAt(p: Params, created: number): number {
  const v = int(p, 'expires_at');
  if (v === undefined) return created + 24 * 3600;
  if (v < created + 30 * 60 - 10) throw invalid('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.', 'expires_at');
  if (v > created + 24 * 3600) throw invalid('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.', 'expires_at');
  return v;
}

/** API versions change what this endpoint takes; stripe-node sends its pinned version (Stripe-Version). */
export const since = (version: string, date: string): boolean => version.slice(0, 10) >= date;
const PAYMENT_METHODS_REMOVED = '2026-09-30'; // endive: payment_method_types → allowed_payment_method_types
const UI_MODE_RENAMED = '2026-03-25'; // dahlia: hosted → hosted_page

/** The payment methods the payer is offered: the sandbox account's dynamic set, filtered as asked. */
function methods(p: Params, version: string): Record<string, unknown> {
  const legacy = strList(p, 'payment_method_types');
  if (legacy.length && since(version, PAYMENT_METHODS_REMOVED)) {
    throw invalid(`Received unknown parameter: payment_method_types (removed in API version ${PAYMENT_METHODS_REMOVED}.endive; use allowed_payment_method_types or excluded_payment_method_types)`, 'payment_method_types', 'parameter_unknown');
  }
  legacy.forEach((t, i) => {
    if (!PAYMENT_METHOD_TYPES.includes(t as never)) throw invalid(`Invalid payment_method_types[${i}]: must be one of ${PAYMENT_METHOD_TYPES.join(', ')}`, `payment_method_types[${i}]`);
  });
  const wechat = asParams(asParams(p.payment_method_options).wechat_pay);
  if (legacy.includes('wechat_pay') && !str(wechat, 'client')) {
    throw invalid('You must provide `payment_method_options[wechat_pay][client]` when `wechat_pay` is in `payment_method_types`.', 'payment_method_options[wechat_pay][client]');
  }
  const allowed = strList(p, 'allowed_payment_method_types');
  const excluded = strList(p, 'excluded_payment_method_types');
  const offered = legacy.length ? legacy : PAYMENT_METHOD_TYPES.filter((m) => (allowed.length === 0 || allowed.includes(m)) && !excluded.includes(m));
  if (offered.length === 0) throw invalid(`None of the requested payment method types is available for this Checkout Session (the sandbox offers ${PAYMENT_METHOD_TYPES.join(', ')}).`, allowed.length ? 'allowed_payment_method_types' : 'excluded_payment_method_types');
  return {
    payment_method_types: offered,
    allowed_payment_method_types: allowed.length ? allowed : null,
    ...(excluded.length ? { excluded_payment_method_types: excluded } : {}),
  };
}

export function buildSession(p: Params, publicBaseUrl: string, version: string): StripeObject {
  allowOnly(p, ALLOWED);
  const mode = reqStr(p, 'mode');
  if (mode !== 'payment') throw invalid(`The sandbox processor supports mode=payment only (got ${mode}).`, 'mode');
  const uiMode = since(version, UI_MODE_RENAMED) ? 'hosted_page' : 'hosted';
  if (p.ui_mode !== undefined && p.ui_mode !== uiMode) throw invalid(`The sandbox processor supports ui_mode=${uiMode} only.`, 'ui_mode');
  const items = lineItems(p);
  const currency = items[0].currency;
  if (items.some((i) => i.currency !== currency)) throw invalid('All line items must use the same currency.', 'line_items');
  const total = items.reduce((sum, i) => sum + i.unit_amount * i.quantity, 0);
  if (total < 1) throw invalid('The Checkout Session total must be greater than zero.', 'line_items');
  if (total > MAX_CHARGE_FEN) throw invalid(`Amount must be no more than ${MAX_CHARGE_FEN} (${currency}).`, 'line_items', 'amount_too_large');
  const pid = asParams(p.payment_intent_data);
  allowOnly(pid, ['metadata', 'description', 'receipt_email'], 'payment_intent_data');
  const created = nowSec();
  const id = newId('cs_test', 58);
  return {
    id,
    object: 'checkout.session',
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: total,
    amount_total: total,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: str(p, 'cancel_url') ?? null,
    client_reference_id: str(p, 'client_reference_id') ?? null,
    client_secret: null,
    consent: null,
    consent_collection: null,
    created,
    currency,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: null,
    customer_creation: 'if_required',
    customer_details: null,
    customer_email: str(p, 'customer_email') ?? null,
    discounts: [],
    expires_at: expiresAt(p, created),
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: oneOf(p, 'locale', LOCALES) ?? null,
    metadata: metadata(p),
    mode,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_options: asParams(p.payment_method_options),
    ...methods(p, version),
    payment_status: 'unpaid',
    phone_number_collection: { enabled: false },
    recovered_from: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: str(p, 'submit_type') ?? null,
    subscription: null,
    success_url: reqStr(p, 'success_url'),
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: uiMode,
    url: `${publicBaseUrl.replace(/\/+$/, '')}/sandbox/checkout/${id}`,
    _sandbox: {
      line_items: items,
      payment_intent_data: { metadata: metadata(pid, 'metadata', 'payment_intent_data[metadata]'), description: str(pid, 'description') ?? null },
    },
  };
}
