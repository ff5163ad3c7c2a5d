import type { Knex } from 'knex';
import type { Queryable } from '../db';
import { paymentIdByRef } from '../payments/payment-store';
import { logger } from '../shared/logger';
import { closedAccountDay, type CourtDay } from './court-day';
import { stageDayLines } from './processor-lines';
import { claimRun, completeRun, failRun } from './run-store';
import type { ReconcileDeps, ReconcileOutcome } from './run';
import { createStage, dropStage, stageTables, type StageTables } from './stage';

/**
 * The account-level run: the processor account is shared by every court, so a line may belong to
 * none of them — a charge made by hand in the processor's dashboard, another system on the same
 * account. Each court's run counts its own lines; this run counts every line the processor listed
 * for the day, attributes each to a court (by its metadata, else by the payment or refund of ours
 * its ids name), and reports each line no court can claim as unattributed_line. Its totals are the
 * processor's for the day, to the fen, split by court, payouts and unattributed. It has no court, so
 * only all-courts finance keys see it. It heals nothing and posts nothing: the court runs do.
 */
export const UNATTRIBUTED_KIND = 'unattributed_line';

/** The account's own transfers to the bank: counted, never a discrepancy (the court runs check payouts). */
const PAYOUT_CATEGORIES = `('payout', 'payout_reversal')`;

export interface LineSums {
  lines: number;
  grossCollected: number;
  refunded: number;
  processorFees: number;
  net: number;
}

export async function reconcileAccountDay(deps: ReconcileDeps, req: { date: string; startedBy: string; now?: Date }): Promise<ReconcileOutcome> {
  const { knex, config } = deps;
  const day = closedAccountDay(config, req.date, req.now ?? new Date());
  const run = await claimRun(knex, { courtCode: null, date: day.date, source: config.reconciliation.source, startedBy: req.startedBy });
  if (!run) return { outcome: 'already_running', courtCode: null, date: day.date };
  const t = stageTables(run.id);
  const courts = config.courts.map((c) => c.code);
  try {
    await createStage(knex, t);
    const staged = await stageDayLines(
      { knex, processor: deps.processor, embedded: !config.db.url, source: config.reconciliation.source, reportPollMs: deps.reportPollMs ?? 5000, reportMaxPolls: deps.reportMaxPolls ?? 120 },
      day, t,
    );
    await attributeLines(knex, t, courts);
    const completed = await knex.transaction(async (tx) => {
      await writeUnattributed(tx, t, run.id);
      const groups = await sumsByCourt(tx, t, courts);
      const all = sum(Object.values(groups));
      const totals = {
        currency: 'CNY', stagedLines: staged, ...all, allCounted: all.lines === staged,
        byCourt: Object.fromEntries(Object.entries(groups).filter(([k]) => !k.startsWith('#'))),
        payouts: groups['#payouts'] ?? sum([]),
        unattributed: groups['#unattributed'] ?? sum([]),
      };
      return completeRun(tx, run.id, totals, { courtRuns: await courtRunsAgree(tx, day, totals.byCourt) });
    });
    logger.info('account reconciliation completed', { runId: run.public_id, date: day.date, lines: staged });
    return { outcome: 'completed', run: completed };
  } catch (e) {
    const reason = (e as Error).message ?? String(e);
    logger.warn('account reconciliation failed', { runId: run.public_id, date: day.date, reason });
    return { outcome: 'failed', run: await failRun(knex, run.id, reason) };
  } finally {
    await dropStage(knex, t).catch((e: Error) => logger.warn('reconciliation could not drop its stage tables', { runId: run.public_id, err: e.message }));
  }
}

const metaCourt = `coalesce(nullif(s.meta_court_code, ''), nullif(s.meta_refund_court_code, ''))`;
const knownCourt = `coalesce(${metaCourt} in (select jsonb_array_elements_text(?::jsonb)), false)`;

/** The lines whose metadata names none of our courts (few), in a scratch table, each then looked up by our ids and the processor's. */
async function attributeLines(knex: Knex, t: StageTables, courts: string[]): Promise<void> {
  await knex.raw(`drop table if exists ${t.matched}`);
  await knex.raw(
    `create unlogged table ${t.matched} as
     select s.bt_id, coalesce(s.category, '') as category, lower(s.currency) as currency, round(s.gross * 100)::bigint as gross,
       round(s.fee * 100)::bigint as fee, round(s.net * 100)::bigint as net, s.source_id, nullif(s.payment_intent_id, '') as payment_intent_id,
       coalesce(nullif(s.charge_id, ''), s.source_id) as charge_id, nullif(s.meta_payment_id, '') as meta_payment_id,
       nullif(s.meta_refund_id, '') as meta_refund_id, null::text as court_code
     from ${t.lines} s where not ${knownCourt}`,
    [JSON.stringify(courts)],
  );
  await knex.raw(
    `update ${t.matched} m set court_code = f.court_code
     from (select u.ctid as rid, case when u.category = 'refund' then coalesce(
               (select x.court_code from refunds x where x.public_id = u.meta_refund_id),
               (select x.court_code from refunds x where x.processor_refund_id = u.source_id))
             else (select x.court_code from payments x where x.id = ${paymentIdByRef(['u.meta_payment_id', 'null', 'u.payment_intent_id', 'u.charge_id'])}) end as court_code
           from ${t.matched} u where u.category not in ${PAYOUT_CATEGORIES}) f
     where m.ctid = f.rid and f.court_code in (select jsonb_array_elements_text(?::jsonb))`,
    [JSON.stringify(courts)],
  );
}

async function writeUnattributed(tx: Knex.Transaction, t: StageTables, runId: number): Promise<void> {
  await tx.raw(
    `insert into reconciliation_items (public_id, run_id, court_code, kind, item_key, status, balance_transaction_id, processor_object_id,
       payment_intent_id, actual_amount, currency, detail)
     select 'reci_' || substr(md5(random()::text || clock_timestamp()::text || bt_id), 1, 24), ?, null, ?, bt_id, 'open', bt_id, source_id, payment_intent_id,
       gross, currency,
       'the processor''s ' || coalesce(nullif(category, ''), 'line') || ' of ' || to_char(gross / 100.0, 'FM999999999990.00') || ' ' || upper(coalesce(currency, '')) ||
       ' belongs to no court of ours: its metadata names none of our courts and its ids match no payment or refund of ours'
     from ${t.matched} where court_code is null and category not in ${PAYOUT_CATEGORIES}
     on conflict (run_id, kind, item_key) do nothing`,
    [runId, UNATTRIBUTED_KIND],
  );
}

/** Every staged line in exactly one group: its court, '#payouts', or '#unattributed'. */
async function sumsByCourt(db: Queryable, t: StageTables, courts: string[]): Promise<Record<string, LineSums>> {
  const { rows } = await db.raw(
    `select g, count(*)::bigint as lines, coalesce(sum(gross) filter (where category = 'charge'), 0)::bigint as gross_collected,
       coalesce(-sum(gross) filter (where category = 'refund'), 0)::bigint as refunded, coalesce(sum(fee), 0)::bigint as fees, coalesce(sum(net), 0)::bigint as net
     from (select ${metaCourt} as g, s.category, round(s.gross * 100)::bigint as gross, round(s.fee * 100)::bigint as fee, round(s.net * 100)::bigint as net
             from ${t.lines} s where ${knownCourt}
           union all
           select coalesce(court_code, case when category in ${PAYOUT_CATEGORIES} then '#payouts' else '#unattributed' end), category, gross, fee, net from ${t.matched}) x
     group by g order by g`,
    [JSON.stringify(courts)],
  );
  return Object.fromEntries(
    (rows as Record<string, string>[]).map((r) => [r.g, { lines: Number(r.lines), grossCollected: Number(r.gross_collected), refunded: Number(r.refunded), processorFees: Number(r.fees), net: Number(r.net) }]),
  );
}

function sum(parts: LineSums[]): LineSums {
  const z: LineSums = { lines: 0, grossCollected: 0, refunded: 0, processorFees: 0, net: 0 };
  for (const p of parts) for (const k of Object.keys(z) as (keyof LineSums)[]) z[k] += p[k];
  return z;
}

/** The day's completed court runs beside this run's count of their lines: agreeing, or not (a court not run yet is absent). */
async function courtRunsAgree(db: Queryable, day: CourtDay, byCourt: Record<string, LineSums>) {
  const runs = await db('reconciliation_runs').where({ business_date: day.date, scope: 'court', status: 'completed' }).orderBy('court_code').select('public_id', 'court_code', 'totals');
  return runs.map((r: { public_id: string; court_code: string; totals: { lines: number; net: number } }) => {
    const mine = byCourt[r.court_code] ?? sum([]);
    return { courtCode: r.court_code, runId: r.public_id, lines: r.totals.lines, net: r.totals.net, agrees: r.totals.lines === mine.lines && r.totals.net === mine.net };
  });
}
