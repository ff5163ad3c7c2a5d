import Stripe from 'stripe';
import { logger } from '../shared/logger';
import type { StripeObject } from './store';

export interface DeliveryOptions {
  url: () => string;
  secret: string;
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Webhook delivery in the background, in order per key (the payment intent a flow belongs to),
 * different keys in parallel. Each event is signed the way Stripe signs (Stripe-Signature, t=…,v1=…)
 * and retried on non-2xx or network errors with a short linear backoff, then given up and logged.
 */
export class WebhookQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(private readonly o: DeliveryOptions) {}

  enqueue(key: string, event: StripeObject): void {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(() => this.deliver(event));
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
  }

  /** Resolves when every queued delivery has finished (delivered or given up). */
  async flush(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** No more retries: what is queued is tried once, then everything settles. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.flush();
  }

  private async deliver(event: StripeObject): Promise<void> {
    const attempts = this.o.attempts ?? 5;
    const meta = { eventId: event.id, eventType: event.type };
    const payload = JSON.stringify(event);
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: this.o.secret });
        const res = await fetch(this.o.url(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks) courtpay-sandbox' },
          body: payload,
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          logger.debug('sandbox webhook delivered', { ...meta, attempt, status: res.status });
          return;
        }
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      if (this.stopping || attempt === attempts) break;
      logger.warn('sandbox webhook delivery failed, will retry', { ...meta, attempt, error: last });
      await sleep((this.o.backoffMs ?? 200) * attempt);
    }
    logger.error('sandbox webhook delivery given up', { ...meta, error: last });
  }
}
