import client from 'prom-client';

/**
 * The job counters live once per process (the runner and the app's registry are built apart);
 * every app's /metrics registry shows them (src/http/metrics.ts registers them).
 */
export const jobFailures = new client.Counter({
  name: 'courtpay_job_failures_total',
  help: 'Scheduled job runs that failed (logged; the job runs again at its next tick or pg-boss retry)',
  labelNames: ['job'] as const,
  registers: [],
});

export const abandonedJobsFailed = new client.Counter({
  name: 'courtpay_jobs_abandoned_total',
  help: 'Job runs left active by an instance that is gone, failed by a live one so the next run can start',
  labelNames: ['job'] as const,
  registers: [],
});

export function registerJobMetrics(registry: client.Registry): void {
  for (const metric of [jobFailures, abandonedJobsFailed]) registry.registerMetric(metric);
}
