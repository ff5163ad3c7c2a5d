import type { Knex } from 'knex';
import type Stripe from 'stripe';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import type { Processor } from '../payments/processor';
import { logger } from '../shared/logger';
import { fetchCaseRecords } from './case-records';
import { closedCourtDay } from './court-day';
import { postProcessorFees } from './fees';
import { buildMatched, lineTotals, payoutTotals, writeItems } from './findings';
import { healMissedSettlements } from './heal';
import { recordOtherDayLines, resolveFoundElsewhere } from './other-days';
import { reconcileAccountDay } from './account-run';
import { stageDayLines, stagePayouts } from './processor-lines';
import { claimRun, completeRun, failRun, type RunRow } from './run-store';
import { createStage, dropStage, stageTables } from './stage';

export interface ReconcileDeps {
  knex: Knex;
  config: Readonly<Config>;
  processor: Processor;
  /** Between polls of a pending Stripe report run (default 5 s, up to 10 minutes). */
  reportPollMs?: number;
  reportMaxPolls?: number;
}

export interface ReconcileRequest {
  date: string;
  courtCode: string;
  /** Who started it: "api_key:key_…", "job:reconciliation", "cli". */
  startedBy: string;
  /** The clock (tests): decides whether the day has ended and what is still within the grace days. */
  now?: Date;
}

export type ReconcileOutcome =
  | { outcome: 'completed' | 'failed'; run: RunRow }
  | { outcome: 'already_running'; courtCode: string | null; date: string };

/**
 * One court-day's reconciliation. Claim the day (or learn another run holds it); stage the
 * processor's lines and the day's payouts; match them to our payments and refunds; heal missed
 * webhooks; then, in one transaction, write every discrepancy, post the day's processor fees and
 * store the totals. Any failure marks the run failed with its reason and leaves no items behind.
 */
export async function reconcileCourtDay(deps: ReconcileDeps, req: ReconcileRequest): Promise<ReconcileOutcome> {
  const { knex, config } = deps;
  const now = req.now ?? new Date();
  const day = closedCourtDay(config, req.courtCode, req.date, now);
  const court = requireCourt(config, req.courtCode);
  const claimStarted = Date.now();
  const run = await claimRun(knex, { courtCode: day.courtCode, date: day.date, source: config.reconciliation.source, startedBy: req.startedBy });
  if (!run) return { outcome: 'already_running', courtCode: day.courtCode, date: day.date };
  const t = stageTables(run.id);
  const source = `reconciliation:${run.public_id}`;
  const stage = { knex, processor: deps.processor, embedded: !config.db.url, source: config.reconciliation.source, reportPollMs: deps.reportPollMs ?? 5000, reportMaxPolls: deps.reportMaxPolls ?? 120 };
  const phases: Record<string, number> = { claim: Date.now() - claimStarted };
  let mark = Date.now();
  const phase = (name: string) => {
    phases[name] = Date.now() - mark;
    mark = Date.now();
  };
  try {
    await createStage(knex, t);
    phase('createStage');
    const staged = await stageDayLines(stage, day, t);
    phase('stage');
    const payouts = await stagePayouts(stage, day, t);
    const caseRecords = await fetchCaseRecords(court, day.date, { timeoutMs: config.reconciliation.caseRecordsTimeoutMs, maxBytes: config.reconciliation.caseRecordsMaxBytes });
    phase('payouts+caseRecords');
    const plain = await buildMatched(knex, t, day, source);
    phase('match');
    const heal = await healMissedSettlements(knex, config, t, source);
    phase('heal');
    const completed = await knex.transaction(async (tx) => {
      const otherDayLines = await recordOtherDayLines(tx, t, run.id, day);
      await writeItems(tx, t, {
        runId: run.id, day, healSource: source, now, graceDays: config.reconciliation.lateGraceDays, payouts,
        caseRecords: caseRecords.status === 'checked' ? caseRecords.records : null,
      });
      const resolvedElsewhere = await resolveFoundElsewhere(tx, run.id, run.public_id, day);
      phase('items');
      const lines = await lineTotals(tx, t, plain);
      const fees = await postProcessorFees(tx, day, run.id, source, lines.processorFees);
      const payoutRows = await payoutTotals(tx, t, payouts, day.courtCode);
      const recorded = lines.recorded + heal.recorded;
      const difference = recorded - lines.processorFees - lines.net;
      const totals = {
        currency: 'CNY',
        stagedLines: staged,
        lines: lines.lines,
        grossCollected: lines.grossCollected,
        refunded: lines.refunded,
        processorFees: lines.processorFees,
        net: lines.net,
        feesPostedThisRun: fees.posted,
        clearing: { recorded, processorFees: lines.processorFees, ledgerNet: recorded - lines.processorFees, processorNet: lines.net, difference, closed: difference === 0 && payoutRows.every((p) => p.matches) },
        payouts: payoutRows,
      };
      const checks = {
        caseRecords: caseRecords.status === 'checked' ? { status: 'checked', records: caseRecords.records.length } : caseRecords,
        healing: { healed: heal.healed, notHealed: heal.notHealed },
        // Lines of this day whose payment or refund we settled on another court-day (matched here, reported on neither day).
        otherDays: { lines: otherDayLines, itemsResolvedOnOtherDays: resolvedElsewhere },
      };
      return completeRun(tx, run.id, totals, checks);
    });
    phase('totals+commit');
    logger.info('reconciliation completed', { runId: run.public_id, courtCode: day.courtCode, date: day.date, lines: staged, phasesMs: phases });
    return { outcome: 'completed', run: completed };
  } catch (e) {
    const reason = describe(e);
    logger.warn('reconciliation failed', { runId: run.public_id, courtCode: day.courtCode, date: day.date, reason });
    return { outcome: 'failed', run: await failRun(knex, run.id, reason) };
  } finally {
    await dropStage(knex, t).catch((e: Error) => logger.warn('reconciliation could not drop its stage tables', { runId: run.public_id, err: e.message }));
  }
}

function describe(e: unknown): string {
  const err = e as Partial<Stripe.errors.StripeError> & Error;
  if (err.type && String(err.type).startsWith('Stripe')) return `processor error (${err.type}${err.statusCode ? ` ${err.statusCode}` : ''}): ${err.message}`;
  return err.message ?? String(e);
}

/**
 * The one entry of the API, the nightly job and the command line: the courts named (each its own
 * court-day) and, with `account`, then the account-level run of the date (every processor line,
 * the unattributed ones reported; see account-run.ts).
 */
export async function reconcileCourts(deps: ReconcileDeps, o: Omit<ReconcileRequest, 'courtCode'> & { courtCodes: string[]; account?: boolean }): Promise<ReconcileOutcome[]> {
  const out: ReconcileOutcome[] = [];
  for (const courtCode of o.courtCodes) out.push(await reconcileCourtDay(deps, { ...o, courtCode }));
  if (o.account) out.push(await reconcileAccountDay(deps, o));
  return out;
}
