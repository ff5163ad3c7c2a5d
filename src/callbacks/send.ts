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
// No cap on sockets per host (a request queued in the agent would spend its timeout waiting for a
// socket; the worker's in-flight limit, callbacks.batchSize, is the cap), and enough idle sockets
// kept that a busy receiver's connections are reused rather than closed and reopened each burst.
const AGENT_OPTIONS = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, scheduling: 'lifo' as const };
const agents = { 'http:': new http.Agent(AGENT_OPTIONS), 'https:': new https.Agent(AGENT_OPTIONS) };
/** What is kept of a receiver's answer in the attempt's error: enough to diagnose, never unbounded. */
const MAX_ERROR = 500;

/** Parsed endpoint URLs: a handful of endpoints, each sent thousands of messages. */
const parsed = new Map<string, URL | null>();
function parseUrl(s: string): URL | null {
  let u = parsed.get(s);
  if (u === undefined) {
    try {
      u = new URL(s);
    } catch {
      u = null;
    }
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(s, u);
  }
  return u;
}

/**
 * One POST: signed, cut off at the timeout (connect, headers and body alike), redirects not followed
 * (a 3xx is a failure: the URL was checked when registered, where it points next was not). Never throws.
 */
export function sendCallback(o: Outgoing): Promise<AttemptResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | null = null;
    const done = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (timedOut) [statusCode, error] = [null, `timed out after ${o.timeoutMs} ms`];
      resolve({ startedAt, statusCode, latencyMs: Math.round(performance.now() - t0), error: error?.slice(0, MAX_ERROR) ?? null, delivered: error === null });
    };
    const failed = (e: Error & { code?: string }) => done(null, e.code ?? e.message);
    const url = parseUrl(o.url);
    if (!url) return done(null, 'invalid URL');
    const payload = Buffer.from(o.body, 'utf8');
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
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
        res.on('aborted', () => failed(new Error('response aborted')));
        res.resume(); // drain, so the keep-alive connection is reused
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return done(status, null);
          if (status >= 300 && status < 400) return done(status, `HTTP ${status}: redirect${res.headers.location ? ` to ${res.headers.location}` : ''} not followed`);
          done(status, `HTTP ${status}`);
        });
      },
    );
    // One timer for the whole exchange (a plain timer: cheaper than an AbortSignal per request).
    timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error('timed out'));
      done(null, 'timed out');
    }, o.timeoutMs);
    req.on('error', failed);
    req.end(payload);
  });
}
