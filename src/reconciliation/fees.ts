import type { Knex } from 'knex';
import { post, transfer } from '../ledger/ledger';
import type { CourtDay } from './court-day';

/**
 * The court-day's processor fees into the ledger (processor_fees debit, processor_clearing credit).
 * Posted as one transaction per step for the day: a rerun posts only the difference from what was
 * already posted (nothing, when the processor's lines are unchanged), and the (court, date, seq)
 * key makes the database refuse a second posting of the same step by a concurrent run.
 */
export async function postProcessorFees(tx: Knex.Transaction, day: CourtDay, runId: number, source: string, total: number): Promise<{ posted: number; cumulative: number }> {
  const prior = await tx('reconciliation_fee_postings')
    .where({ court_code: day.courtCode, business_date: day.date })
    .select(tx.raw('coalesce(max(seq), 0)::int as seq'), tx.raw('coalesce(sum(amount), 0)::bigint as posted'))
    .first();
  const delta = total - Number(prior.posted);
  if (delta === 0) return { posted: 0, cumulative: total };
  const ledgerId = await post(tx, {
    kind: 'processor_fee', courtCode: day.courtCode, source,
    description: `processor fees ${day.courtCode} ${day.date}${prior.seq ? ' (adjustment)' : ''}`,
    lines: transfer('processor_fees', 'processor_clearing', delta),
  });
  await tx('reconciliation_fee_postings').insert({
    court_code: day.courtCode, business_date: day.date, seq: prior.seq + 1, amount: delta, cumulative: total, ledger_transaction_id: ledgerId, run_id: runId,
  });
  return { posted: delta, cumulative: total };
}
