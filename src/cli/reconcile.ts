import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { syncCourts } from '../courts/courts';
import { openDatabase } from '../db';
import { setUpProcessor } from '../payments/setup';
import { closedAccountDay, closedCourtDay, hasAccountDay } from '../reconciliation/court-day';
import { reconcileCourts, type ReconcileOutcome } from '../reconciliation/run';
import { countsByKind } from '../reconciliation/run-store';
import { AppError } from '../shared/errors';
import { setLogLevel } from '../shared/logger';

const USAGE = 'usage: npm run reconcile -- --date YYYY-MM-DD [--court CODE]   (without --court: every court, then the account-level run)';

/** Runs (or reruns) a court-day's reconciliation, prints a summary; exit 1 if a run failed or was already running, 2 on bad input. */
async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { date: { type: 'string' }, court: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.date || !/^\d{4}-\d{2}-\d{2}$/.test(values.date) || new Date(`${values.date}T00:00:00Z`).toISOString().slice(0, 10) !== values.date) {
    console.error(`--date must be a calendar date YYYY-MM-DD\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const courts = values.court ? [values.court] : config.courts.map((c) => c.code);
  // Every court: the account-level run of the date too, as the nightly job does.
  const account = !values.court && hasAccountDay(config);
  try {
    for (const c of courts) closedCourtDay(config, c, values.date);
    if (account) closedAccountDay(config, values.date);
  } catch (e) {
    console.error(e instanceof AppError ? e.message : String(e));
    return 2;
  }
  setLogLevel('warn');
  const db = await openDatabase(config);
  // Without STRIPE_SECRET_KEY the local sandbox answers (its events would go to a service URL; none are sent by a reconciliation).
  const { processor, sandbox } = await setUpProcessor(db.knex, config, () => `${config.publicBaseUrl}/webhooks/stripe`);
  try {
    await syncCourts(db.knex, config.courts);
    // The same entry the API and the nightly job use (it sets up what a heal's callbacks need).
    const outcomes = await reconcileCourts({ knex: db.knex, config, processor }, { date: values.date, courtCodes: courts, account, startedBy: 'cli' });
    for (const o of outcomes) console.log(await summary(db.knex, o));
    return outcomes.some((o) => o.outcome !== 'completed') ? 1 : 0;
  } finally {
    await sandbox?.stop();
    await db.close();
  }
}

async function summary(knex: import('knex').Knex, o: ReconcileOutcome): Promise<string> {
  if (o.outcome === 'already_running') return `${o.courtCode ?? 'account'} ${o.date}: already running elsewhere`;
  const r = o.run;
  if (o.outcome === 'failed') return `${r.court_code ?? 'account'} ${r.business_date}: FAILED (${r.public_id}): ${r.failure_reason}`;
  const t = r.totals as { lines: number; grossCollected: number; refunded: number; processorFees: number; net: number; clearing: { difference: number; closed: boolean } };
  const counts = Object.entries(await countsByKind(knex, r.id)).map(([k, c]) => `${k}=${c.total}`).join(' ') || 'none';
  if (r.court_code === null) {
    return `account ${r.business_date}: completed (${r.public_id}) lines=${t.lines} gross=${t.grossCollected} refunded=${t.refunded} fees=${t.processorFees} net=${t.net} (fen, every processor line); discrepancies: ${counts}`;
  }
  return `${r.court_code} ${r.business_date}: completed (${r.public_id}) lines=${t.lines} gross=${t.grossCollected} refunded=${t.refunded} fees=${t.processorFees} net=${t.net} (fen) clearing ${t.clearing.closed ? 'closed' : `differs by ${t.clearing.difference}`}; discrepancies: ${counts}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
