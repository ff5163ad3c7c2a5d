import type { Knex } from 'knex';
import client from 'prom-client';
import type { Config } from '../config';
import type { JobSpec } from '../jobs/runner';
import { logger } from '../shared/logger';
import { verifyChains, type ChainReport } from './verify-chain';

/**
 * The nightly check of the trail: every chain walked and recomputed (verify-chain.ts). When all
 * verifies, its head is published — a chain_checkpoints row and an info log line with seq
 * and hash, so the head also lives outside the database — and a later rewrite of the chain, even
 * with every hash recomputed, shows against it. When one does not, an error line names the first
 * row that does not verify and courtpay_audit_chain_broken{chain} is 1 (0 once it verifies again).
 */
export const chainBroken = new client.Gauge({
  name: 'courtpay_audit_chain_broken',
  help: 'The last verification of the audit/ledger hash chain (a court, or global) found a row that does not verify: 1, else 0',
  labelNames: ['chain'] as const,
  registers: [],
});

export const chainVerifiedAt = new client.Gauge({
  name: 'courtpay_audit_chain_verified_timestamp_seconds',
  help: 'When the audit/ledger hash chains last verified in full (Unix seconds), on the instance that ran the check',
  registers: [],
});

export function registerAuditMetrics(registry: client.Registry): void {
  for (const metric of [chainBroken, chainVerifiedAt]) registry.registerMetric(metric);
}

/** Records each verified chain's head as a checkpoint (chains with no rows have none to publish). */
export async function publishCheckpoints(knex: Knex, reports: ChainReport[], by: string): Promise<void> {
  const rows = reports.filter((r) => !r.failure && r.head.seq > 0).map((r) => ({ chain: r.chain, seq: r.head.seq, hash: Buffer.from(r.head.hash, 'hex'), taken_by: by }));
  if (rows.length) await knex('chain_checkpoints').insert(rows);
}

/** Verifies every chain, publishes the heads when all verify, and reports through the log and the gauge. */
export async function checkTrail(knex: Knex, by = 'job:audit-verify'): Promise<ChainReport[]> {
  const reports = await verifyChains(knex);
  for (const r of reports) {
    chainBroken.set({ chain: r.chain }, r.failure ? 1 : 0);
    if (r.failure) logger.error('audit chain does not verify', { ...r.failure });
  }
  // A broken chain does not hold back the others' heads: each verified one is published.
  await publishCheckpoints(knex, reports, by);
  const heads = reports.filter((r) => !r.failure && r.head.seq > 0).map((r) => ({ chain: r.chain, seq: r.head.seq, hash: r.head.hash }));
  logger.info('audit chain heads published', { heads });
  if (reports.every((r) => !r.failure)) chainVerifiedAt.set(Date.now() / 1000);
  return reports;
}

export function auditJobs(knex: Knex, config: Readonly<Config>): JobSpec[] {
  return [
    {
      name: 'audit-verify',
      cron: config.audit.verifyCron,
      // A walk over a year of rows takes minutes; one still active after an hour is dead.
      expireInSeconds: 3600,
      run: async () => {
        await checkTrail(knex);
      },
    },
  ];
}
