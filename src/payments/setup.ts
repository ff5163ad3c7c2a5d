import type { Knex } from 'knex';
import type { Config } from '../config';
import { startSandbox, sandboxStripeSecretKey, type Sandbox } from '../sandbox';
import { logger } from '../shared/logger';
import { createStripeClient, randomWebhookSecret, stripeProcessor, type Processor } from './processor';

export interface ProcessorSetup {
  processor: Processor;
  sandbox: Sandbox | null;
}

/**
 * Stripe when a secret key is configured; otherwise the local sandbox, which serves a
 * Stripe-compatible API on loopback and posts Stripe-signed events to our own webhook — so the
 * very same client and webhook code run. The sandbox refuses production (config already does).
 */
export async function setUpProcessor(knex: Knex, config: Readonly<Config>, webhookUrl: () => string): Promise<ProcessorSetup> {
  if (config.stripe.secretKey) return { processor: stripeProcessor(config), sandbox: null };
  const webhookSecret = config.stripe.webhookSecrets[0] ?? randomWebhookSecret();
  const sandbox = await startSandbox({ knex, env: config.env, publicBaseUrl: config.publicBaseUrl, webhookUrl, webhookSecret });
  logger.info('using the local sandbox processor (no STRIPE_SECRET_KEY)', { api: sandbox.apiBase });
  return {
    processor: {
      stripe: createStripeClient(sandboxStripeSecretKey(), config, sandbox.apiBase),
      kind: 'sandbox',
      webhookSecrets: [webhookSecret, ...config.stripe.webhookSecrets.slice(1)],
      secretKey: sandboxStripeSecretKey(),
    },
    sandbox,
  };
}
