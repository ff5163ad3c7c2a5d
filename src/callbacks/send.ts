import { performance } from 'node:perf_hooks';
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
  error: string | null;
  delivered: boolean;
}

/**
 * One POST: signed, cut off at the timeout, redirects not followed (a 3xx is a failure — the URL
 * was checked when registered, where it points next was not). Never throws.
 */
export async function sendCallback(o: Outgoing): Promise<AttemptResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const done = (statusCode: number | null, error: string | null): AttemptResult => ({
    startedAt, statusCode, latencyMs: Math.round(performance.now() - t0), error, delivered: error === null,
  });
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      body: o.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'courtpay-callbacks/1',
        'courtpay-delivery': o.deliveryId,
        'courtpay-signature': signatureHeader(o.secrets, o.body, Math.floor(Date.now() / 1000)),
      },
    });
    await res.arrayBuffer(); // drain, so the keep-alive connection is reused
    if (res.status >= 200 && res.status < 300) return done(res.status, null);
    if (res.status >= 300 && res.status < 400) return done(res.status, `HTTP ${res.status}: redirect${res.headers.get('location') ? ` to ${res.headers.get('location')}` : ''} not followed`);
    return done(res.status, `HTTP ${res.status}`);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return done(null, `timed out after ${o.timeoutMs} ms`);
    return done(null, (err.cause?.code ?? err.cause?.message ?? err.message).slice(0, 500));
  }
}
