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
