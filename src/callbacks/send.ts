import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { DELIVERY_FAILED, DestinationRefused, REFUSED_BY_POLICY, type Destinations } from './destinations';
import { signatureHeader } from './signature';

export interface Outgoing {
  url: string;
  deliveryId: string;
  body: string;
  secrets: readonly string[];
  timeoutMs: number;
}

export interface AttemptResult {
  startedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  /** What the attempt records: an HTTP status, a timeout, or a generic failure — never a socket error code. */
  error: string | null;
  delivered: boolean;
  /** Why it failed, for the log only (the socket error, what the policy refused): never recorded nor shown through the API. */
  detail: string | null;
}

/** What is kept of a receiver's answer in the attempt's error: enough to diagnose, never unbounded. */
const MAX_ERROR = 500;

/**
 * One exchange, settled once: by the response's end, by an error, or by the timeout — one timer for
 * connect, headers and body alike (cheaper than an AbortSignal per request), which aborts the
 * request as soon as it has one to abort.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly t0 = performance.now();
  private readonly startedAt = new Date();
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private status = 0;
  private location: string | null = null;

  constructor(private readonly timeoutMs: number, private readonly resolve: (r: AttemptResult) => void) {}

  arm(): void {
    this.timer = setTimeout(() => {
      this.done(null, `timed out after ${this.timeoutMs} ms`);
      this.controller?.abort(new Error('timed out'));
    }, this.timeoutMs);
  }

  done(statusCode: number | null, error: string | null, detail: string | null = null): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.resolve({ startedAt: this.startedAt, statusCode, latencyMs: Math.round(performance.now() - this.t0), error: error?.slice(0, MAX_ERROR) ?? null, delivered: error === null, detail });
  }

  failed(e: Error & { code?: string }): void {
    if (e instanceof DestinationRefused) this.done(null, REFUSED_BY_POLICY, e.message);
    else this.done(null, DELIVERY_FAILED, e.code ? `${e.code}: ${e.message}` : e.message);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error('timed out'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const loc = headers.location;
    this.location = typeof loc === 'string' ? loc : null;
  }

  onResponseData(): void {
    // The body is read and dropped, so the keep-alive connection is reused.
  }

  onResponseEnd(): void {
    const s = this.status;
    if (s >= 200 && s < 300) return this.done(s, null);
    if (s >= 300 && s < 400) return this.done(s, `HTTP ${s}: redirect${this.location ? ` to ${this.location}` : ''} not followed`);
    this.done(s, `HTTP ${s}`);
  }

  onResponseError(_c: Dispatcher.DispatchController, e: Error & { code?: string }): void {
    this.failed(e);
  }
}

/**
 * One POST: its URL checked against the policy again, connected only to an address the policy
 * allows (destinations.ts), signed, cut off at the timeout (resolving, connect, headers and body
 * alike), redirects not followed (a 3xx is a failure: where it points was never checked). Keep-alive
 * connections per receiver through undici's dispatcher: about half the CPU per request of
 * node:http's ClientRequest on the bench's receiver (bench/callbacks.ts posts with both as its
 * ceiling), and it honours a receiver's Keep-Alive timeout instead of racing it. Never throws.
 */
export function sendCallback(o: Outgoing, destinations: Destinations): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    const x = new Exchange(o.timeoutMs, resolve);
    const t = destinations.target(o.url);
    if (t instanceof DestinationRefused) return x.failed(t);
    x.arm();
    try {
      destinations.agent(o.timeoutMs).dispatch(
        {
          origin: t.origin,
          path: t.path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'courtpay-callbacks/1',
            'courtpay-delivery': o.deliveryId,
            'courtpay-signature': signatureHeader(o.secrets, o.body, Math.floor(Date.now() / 1000)),
          },
          body: o.body,
          // Our own timer cuts the exchange off; these only keep undici from giving up first.
          headersTimeout: o.timeoutMs + 1000,
          bodyTimeout: o.timeoutMs + 1000,
        },
        x,
      );
    } catch (e) {
      x.failed(e as Error);
    }
  });
}
