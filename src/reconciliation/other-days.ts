import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import type { CourtDay } from './court-day';
import type { StageTables } from './stage';

/**
 * Matching across the court-day boundary. Our settlement time and the processor's line can fall on
 * different court-days: a payment at 23:59:58 whose webhook comes at 00:00:03, or one whose webhook
 * never came and that a run healed the next night. The day that holds the processor's line counts
 * and matches it, and records here that the line's payment (or refund) was settled on another day;
 * the run of that other day then does not report it missing at the processor. Whichever of the two
 * runs comes second sets things straight: a missing_at_processor the other day's run already wrote
 * for it is resolved, with the line named, by the run that found the line.
 */

/** This run's lines whose payment or refund we now hold settled outside the court-day (heals included). */
export async function recordOtherDayLines(tx: Knex.Transaction, t: StageTables, runId: number, day: CourtDay): Promise<number> {
  await tx('reconciliation_other_day_lines').where({ run_id: runId }).delete();
  const { rowCount } = await tx.raw(
    `insert into reconciliation_other_day_lines (run_id, balance_transaction_id, line_created_at, payment_id, refund_id)
     select ?, m.bt_id, m.created_utc at time zone 'UTC', p.id, r.id
       from ${t.matched} m
       left join payments p on m.category = 'charge' and p.id = m.payment_id
       left join refunds r on m.category = 'refund' and r.id = m.refund_id
      where m.bt_id is not null and m.created_utc is not null
        and ((p.settled_at is not null and (p.settled_at < ? or p.settled_at >= ?))
          or (r.succeeded_at is not null and (r.succeeded_at < ? or r.succeeded_at >= ?)))
     on conflict do nothing`,
    [runId, day.start, day.end, day.start, day.end],
  );
  return rowCount ?? 0;
}

/** SQL: no other run matched a line of its day to payment `p` (charge) — the condition missing_at_processor adds. */
export const paymentLineNotElsewhere = (paymentAlias: string) =>
  `not exists (select 1 from reconciliation_other_day_lines o where o.payment_id = ${paymentAlias}.id and o.run_id <> ?)`;

export const refundLineNotElsewhere = (refundAlias: string) =>
  `not exists (select 1 from reconciliation_other_day_lines o where o.refund_id = ${refundAlias}.id and o.run_id <> ?)`;

/** Other runs' open missing_at_processor items for what this run found a line for: resolved, audited. */
export async function resolveFoundElsewhere(tx: Knex.Transaction, runId: number, runPublicId: string, day: CourtDay): Promise<number> {
  const by = `reconciliation:${runPublicId}`;
  const { rows } = await tx.raw(
    `update reconciliation_items it
        set status = 'resolved', resolved_at = now(), resolved_by = ?,
            resolution_note = 'the processor''s line ' || o.balance_transaction_id || ' is on ' || ?::text || ' (court-day ' || ?::text || ', run ' || ? || '): matched there'
       from reconciliation_other_day_lines o
      where o.run_id = ? and it.run_id <> ? and it.kind = 'missing_at_processor' and it.status = 'open'
        and ((o.payment_id is not null and it.refund_id is null and it.payment_id = o.payment_id) or (o.refund_id is not null and it.refund_id = o.refund_id))
      returning it.public_id, it.resolution_note`,
    [by, day.date, day.courtCode, runPublicId, runId, runId],
  );
  for (const r of rows as { public_id: string; resolution_note: string }[]) {
    await recordAudit(tx, { action: 'reconciliation_item.resolved', entityType: 'reconciliation_item', entityId: r.public_id, before: { status: 'open' }, after: { status: 'resolved', note: r.resolution_note } }, by);
  }
  return rows.length;
}
