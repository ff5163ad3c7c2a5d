import http from 'node:http';
import https from 'node:https';
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

// Keep-alive connections per receiver; node:http, not fetch: a third of the CPU per request (bench/callbacks.ts).
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
/** What is kept of a receiver's answer in the attempt's error: enough to diagnose, never unbounded. */
const MAX_ERROR = 500;

/**
 * One POST: signed, cut off at the timeout (connect, headers and body alike), redirects not followed
 * (a 3xx is a failure: the URL was checked when registered, where it points next was not). Never throws.
 */
export function sendCallback(o: Outgoing): Promise<AttemptResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const done = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ startedAt, statusCode, latencyMs: Math.round(performance.now() - t0), error: error?.slice(0, MAX_ERROR) ?? null, delivered: error === null });
    };
    const failed = (e: Error & { code?: string }) =>
      done(null, e.name === 'AbortError' || e.name === 'TimeoutError' ? `timed out after ${o.timeoutMs} ms` : (e.code ?? e.message));
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      return done(null, 'invalid URL');
    }
    const payload = Buffer.from(o.body, 'utf8');
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        signal: AbortSignal.timeout(o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          'user-agent': 'courtpay-callbacks/1',
          'courtpay-delivery': o.deliveryId,
          'courtpay-signature': signatureHeader(o.secrets, o.body, Math.floor(Date.now() / 1000)),
        },
      },
      (res) => {
        res.on('error', failed);
        res.on('aborted', () => failed(Object.assign(new Error('response aborted'), { name: req.destroyed && req.errored?.name === 'AbortError' ? 'AbortError' : 'Error' })));
        res.resume(); // drain, so the keep-alive connection is reused
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return done(status, null);
          if (status >= 300 && status < 400) return done(status, `HTTP ${status}: redirect${res.headers.location ? ` to ${res.headers.location}` : ''} not followed`);
          done(status, `HTTP ${status}`);
        });
      },
    );
    req.on('error', failed);
    req.end(payload);
  });
}
