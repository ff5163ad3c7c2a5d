import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type express from 'express';
import type { Knex } from 'knex';
import { logger } from '../shared/logger';
import { apiApp } from './api';
import { WebhookQueue } from './delivery';
import type { PaymentMethodType } from './objects';
import { decline, expireSession, pay } from './payments';
import { pagesRouter } from './pages';
import { failRefund } from './refunds';
import type { Ctx } from './runtime';

/**
 * The local sandbox payment processor: a small Stripe-compatible API on its own loopback port
 * (the real stripe client is pointed at it), a hosted checkout page, and Stripe-signed webhooks
 * to the service. For development, demos and tests only: it refuses to run in production.
 */
export interface SandboxOptions {
  knex: Knex;
  env: 'development' | 'test' | 'production';
  /** Where litigants' browsers reach the main app; checkout pages are `${publicBaseUrl}/sandbox/checkout/${sessionId}`. */
  publicBaseUrl: string;
  /** Where to POST events (a function: the main port is known only after listen). */
  webhookUrl: () => string;
  /** whsec_… used to sign events. */
  webhookSecret: string;
  /** Processor fee on each charge, in basis points (default 60 = 0.6%). */
  feeBps?: number;
  /** Port for the API on 127.0.0.1 (default 0: any free port). */
  apiPort?: number;
  /** How often open sessions past expires_at are expired (default 60 s; 0 = only when looked at). */
  expirySweepMs?: number;
  /** Webhook retries: attempts (default 5) and linear backoff step (default 200 ms). */
  webhookAttempts?: number;
  webhookBackoffMs?: number;
}

export interface Sandbox {
  /** http://127.0.0.1:<port>: give it to the stripe client as host/port/protocol (see clientOptions). */
  apiBase: string;
  clientOptions: { host: string; port: number; protocol: 'http' };
  /** Mounted by the main app at /sandbox (checkout page and its form posts). */
  pages: express.Router;
  stop(): Promise<void>;
  /** Drive outcomes without a browser (tests, benchmark, demos): */
  pay(sessionId: string, opts?: { method?: PaymentMethodType }): Promise<void>;
  decline(sessionId: string): Promise<void>;
  /** The bank returned a succeeded refund: it turns failed (refund.updated, refund.failed). */
  failRefund(refundId: string): Promise<void>;
  /** Resolves when every queued webhook delivery has finished (delivered or given up). */
  flush(): Promise<void>;
}

const SANDBOX_KEY = 'sk_test_sandbox';

/** The API key the service gives the stripe client in sandbox mode. */
export function sandboxStripeSecretKey(): string {
  return SANDBOX_KEY;
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  if (o.env === 'production') {
    throw new Error('the sandbox payment processor must not run in production: set STRIPE_SECRET_KEY to use Stripe');
  }
  if (!o.webhookSecret) throw new Error('the sandbox needs a webhook secret (whsec_…) to sign events');
  const feeBps = o.feeBps ?? 60;
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) throw new Error(`sandbox feeBps must be an integer 0..10000, got ${feeBps}`);

  const queue = new WebhookQueue({ url: o.webhookUrl, secret: o.webhookSecret, attempts: o.webhookAttempts, backoffMs: o.webhookBackoffMs });
  const ctx: Ctx = { knex: o.knex, queue, publicBaseUrl: o.publicBaseUrl, feeBps };
  const server: Server = apiApp(ctx).listen(o.apiPort ?? 0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const port = (server.address() as AddressInfo).port;

  let sweeping: Promise<void> = Promise.resolve();
  const sweepMs = o.expirySweepMs ?? 60_000;
  const timer = sweepMs > 0 ? setInterval(() => (sweeping = sweep(ctx)), sweepMs) : null;
  timer?.unref();
  logger.info('sandbox payment processor started', { apiBase: `http://127.0.0.1:${port}`, feeBps });

  return {
    apiBase: `http://127.0.0.1:${port}`,
    clientOptions: { host: '127.0.0.1', port, protocol: 'http' },
    pages: pagesRouter(ctx),
    async stop() {
      if (timer) clearInterval(timer);
      await sweeping;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await queue.stop();
    },
    async pay(sessionId, opts) {
      await pay(ctx, sessionId, opts?.method ?? 'card');
    },
    async decline(sessionId) {
      await decline(ctx, sessionId);
    },
    async failRefund(refundId) {
      await failRefund(ctx, refundId);
    },
    flush: () => queue.flush(),
  };
}

/** Expires open sessions past their expires_at even when nobody looks at them, as Stripe does. */
async function sweep(ctx: Ctx): Promise<void> {
  try {
    const due = await ctx.knex('sandbox_objects')
      .where('type', 'checkout.session')
      .whereRaw("data->>'status' = 'open'")
      .whereRaw("(data->>'expires_at')::bigint <= extract(epoch from now())")
      .limit(100)
      .pluck('id');
    for (const id of due) await expireSession(ctx, id, 'timeout');
  } catch (e) {
    logger.warn('sandbox expiry sweep failed', { error: e instanceof Error ? e.message : String(e) });
  }
}
