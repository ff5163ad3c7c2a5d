import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { applyRefundObservation } from './apply';
import type { RefundRow } from './refund-store';
import { submitRefund } from './submit';

/** Sent, or maybe sent: only the processor's answer moves these on. */
const UNDER_WAY = ['submitting', 'submitted'];

export interface RefundSweepReport {
  submitted: number;
  checked: number;
  errors: number;
}

/**
 * Refunds whose outcome we do not know: approved but never sent (the process stopped before
 * `submitting`), submitting with no answer recorded (the process was killed after that commit, or
 * mid-call), sent with no answer (timeout, 5xx), or still pending at the processor. Sending again
 * uses the same idempotency key, so it can only find the refund Stripe already has, or make it once.
 */
export async function sweepRefunds(knex: Knex, config: Readonly<Config>, p: Processor, olderThanMinutes: number, limit = 200): Promise<RefundSweepReport> {
  const report: RefundSweepReport = { submitted: 0, checked: 0, errors: 0 };
  const cutoff = new Date(Date.now() - olderThanMinutes * 60_000);
  const stuck = await knex<RefundRow>('refunds')
    .where((q) => q.where({ status: 'approved' }).orWhere((s) => s.whereIn('status', UNDER_WAY).whereNull('processor_refund_id')))
    .where('updated_at', '<', cutoff)
    .orderBy('id')
    .limit(limit);
  for (const r of stuck) {
    try {
      await submitRefund(knex, config, p, r.id);
      report.submitted += 1;
    } catch (e) {
      report.errors += 1;
      logger.warn('refund sweep could not submit', { refundId: r.public_id, err: (e as Error).message });
    }
  }
  const waiting = await knex<RefundRow>('refunds').whereIn('status', UNDER_WAY).whereNotNull('processor_refund_id').where('updated_at', '<', cutoff).orderBy('id').limit(limit);
  for (const r of waiting) {
    report.checked += 1;
    try {
      const s = await p.stripe.refunds.retrieve(r.processor_refund_id!);
      await knex.transaction((tx) => applyRefundObservation(tx, config, r, { source: 'sweep', processorRefundId: s.id, processorStatus: s.status, amount: s.amount, currency: s.currency, failureReason: s.failure_reason ?? null }));
    } catch (e) {
      report.errors += 1;
      logger.warn('refund sweep could not check a refund', { refundId: r.public_id, err: (e as Error).message });
    }
  }
  return report;
}
