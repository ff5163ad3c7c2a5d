import crypto from 'node:crypto';
import Stripe from 'stripe';
import type { Config } from '../config';

/**
 * The payment processor is always the `stripe` client: pointed at Stripe, at STRIPE_API_BASE
 * (a stand-in for tests and benchmarks), or at the local sandbox's Stripe-compatible API.
 */
export interface Processor {
  stripe: Stripe;
  kind: 'stripe' | 'sandbox';
  /** Endpoint secrets webhooks are verified against (several during a rotation). */
  webhookSecrets: readonly string[];
  /** The API key, for the few calls the client does not make itself (downloading a report file). */
  secretKey: string;
}

export function createStripeClient(secretKey: string, config: Readonly<Config>, apiBase: string | null): Stripe {
  const base = apiBase ? new URL(apiBase) : null;
  return new Stripe(secretKey, {
    maxNetworkRetries: config.stripe.maxNetworkRetries,
    timeout: config.stripe.timeoutMs,
    telemetry: false,
    appInfo: { name: 'courtpay' },
    ...(base ? { host: base.hostname, port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)), protocol: base.protocol.replace(':', '') as 'http' | 'https' } : {}),
  });
}

/** Per-call settings for a request to the processor (they override the client's). */
export type CallOptions = Pick<Stripe.RequestOptions, 'timeout' | 'maxNetworkRetries'>;

/**
 * For a call a litigant's page waits on (the return page, the pay button): a short timeout and no
 * retries, so a slow processor costs the page seconds, not the minute three 20 s attempts take.
 * The page shows the service's own state instead; the webhook and the sweep settle it later.
 */
export function pageCallOptions(config: Readonly<Config>): CallOptions {
  return { timeout: config.stripe.pageTimeoutMs, maxNetworkRetries: 0 };
}

/** A processor call that did not answer within its timeout (the outcome of a write is unknown). */
export class ProcessorTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer from the processor within ${ms} ms`);
  }
}

/**
 * Bounds the whole exchange by the call's timeout. The client's own timeout is on an idle socket:
 * a processor that trickles its answer, or a stalled connection attempt, can outlast it. The request
 * itself is left to end on its own; whatever it answers later is ignored (a write it made is found
 * again through its idempotency key, a state it read is read again).
 */
export function withinTimeout<T>(call: CallOptions, request: Promise<T>): Promise<T> {
  const ms = call.timeout;
  if (!ms) return request;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProcessorTimeoutError(ms)), ms);
  });
  return Promise.race([request, late]).finally(() => clearTimeout(timer));
}

export function stripeProcessor(config: Readonly<Config>): Processor {
  return {
    stripe: createStripeClient(config.stripe.secretKey!, config, config.stripe.apiBase),
    kind: 'stripe',
    webhookSecrets: config.stripe.webhookSecrets,
    secretKey: config.stripe.secretKey!,
  };
}

export function randomWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(24).toString('base64url')}`;
}
