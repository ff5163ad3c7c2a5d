import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import client from 'prom-client';
import { registerAuditMetrics } from '../audit/chain-job';
import { registerJobMetrics } from '../jobs/metrics';

export interface Metrics {
  registry: client.Registry;
  middleware: RequestHandler;
  /** Times a request until its response finishes, labelled with the route template `route()` names then. */
  track(req: IncomingMessage, res: ServerResponse, route: () => string): void;
}

/** Request durations by route template (never the raw path: case numbers would explode the label set). */
export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  registerJobMetrics(registry);
  registerAuditMetrics(registry);
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const track: Metrics['track'] = (req, res, route) => {
    const end = duration.startTimer();
    res.on('finish', () => end({ method: req.method, route: route(), status: String(res.statusCode) }));
  };
  const middleware: RequestHandler = (req, res, next) => {
    track(req, res, () => (res.locals.route as string) ?? 'unmatched');
    next();
  };
  return { registry, middleware, track };
}
