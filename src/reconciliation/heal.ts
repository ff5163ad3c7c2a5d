import type { Knex } from 'knex';
import type { Config } from '../config';
import { applyObservation } from '../payments/apply';
import { applyRefundObservation } from '../refunds/apply';
import { logger } from '../shared/logger';
import { healCandidates } from './findings';
import type { StageTables } from './stage';

export interface HealReport {
  /** Fen our records now hold settled that they did not before the run (payments +, refunds −). */
  recorded: number;
  healed: number;
  notHealed: number;
}

const PAGE = 200;

/**
 * A line the processor settled that we hold as unsettled is a missed webhook: it is applied through
 * the very code the webhook uses, one payment or refund per transaction, with the run as source (a
 * rerun finds what it healed by that source). A disagreement there flags the payment, as the webhook would.
 */
export async function healMissedSettlements(knex: Knex, config: Readonly<Config>, t: StageTables, source: string): Promise<HealReport> {
  const report: HealReport = { recorded: 0, healed: 0, notHealed: 0 };
  let after = '';
  for (;;) {
    const page = await healCandidates(knex, t, after, PAGE);
    for (const line of page) {
      after = line.bt_id;
      const r = await knex.transaction(async (tx) => {
        if (line.category === 'charge' && line.payment_id) {
          const payment = await tx('payments').where({ id: line.payment_id }).first('id', 'invoice_id');
          return applyObservation(tx, config, payment, {
            source, outcome: 'succeeded', amount: Number(line.gross), currency: line.currency, paymentIntentId: line.payment_intent_id,
            chargeId: line.source_id?.startsWith('ch_') ? line.source_id : null,
          });
        }
        const refund = await tx('refunds').where({ id: line.refund_id }).first('id', 'payment_id', 'invoice_id');
        return applyRefundObservation(tx, config, refund, { source, processorRefundId: line.source_id ?? '', processorStatus: 'succeeded', amount: -Number(line.gross), currency: line.currency });
      });
      if (r.kind === 'applied' && r.status === 'succeeded') {
        report.healed += 1;
        report.recorded += Number(line.gross); // a refund line's gross is negative
      } else {
        report.notHealed += 1;
        logger.warn('reconciliation could not heal a line', { balanceTransactionId: line.bt_id, outcome: r.kind, reason: r.kind === 'flagged' ? r.reason : undefined });
      }
    }
    if (page.length < PAGE) return report;
  }
}
