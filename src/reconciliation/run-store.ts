import type { Knex } from 'knex';
import { shownPerson, type PersonSnapshot } from '../auth/maker-checker';
import { assertCanSee, type Principal } from '../auth/principal';
import { publicId } from '../auth/keys';
import type { Queryable } from '../db';
import { NotFoundError } from '../shared/errors';

export type RunStatus = 'running' | 'completed' | 'failed';
/** court: one court-day; account: the processor account's whole day, no court (all-courts keys only). */
export type RunScope = 'court' | 'account';

export interface RunRow {
  id: number;
  public_id: string;
  /** Null on an account-level run. */
  court_code: string | null;
  scope: RunScope;
  business_date: string;
  status: RunStatus;
  source: 'list' | 'report';
  attempt: number;
  started_by: string;
  started_at: Date;
  finished_at: Date | null;
  failure_reason: string | null;
  totals: Record<string, unknown> | null;
  checks: Record<string, unknown>;
  created_at: Date;
}

export interface ItemRow {
  id: number;
  public_id: string;
  run_id: number;
  court_code: string | null;
  kind: string;
  item_key: string;
  status: 'open' | 'healed' | 'resolved';
  grade: 'late' | 'missing' | null;
  balance_transaction_id: string | null;
  processor_object_id: string | null;
  payment_intent_id: string | null;
  payout_id: string | null;
  payment_id: number | null;
  refund_id: number | null;
  invoice_id: number | null;
  case_number: string | null;
  expected_amount: number | null;
  actual_amount: number | null;
  currency: string | null;
  detail: string;
  resolution_note: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  created_at: Date;
}

export type ItemView = ItemRow & { payment_public_id: string | null; refund_public_id: string | null; invoice_public_id: string | null; run_public_id: string };

/** A run still marked running after this long is taken to have crashed: a rerun may take it over. */
export const STALE_RUN_MINUTES = 30;

/**
 * Claims the court-day: inserts its run, or takes over a finished, failed or stale one (attempt + 1)
 * and clears its unresolved items. Null when another run holds it — the database decides, under the
 * row lock the upsert takes, so two instances starting at once cannot both run it.
 */
export async function claimRun(knex: Knex, o: { courtCode: string | null; date: string; source: 'list' | 'report'; startedBy: string }): Promise<RunRow | null> {
  // An account-level run (no court) is one per date, by its own partial unique index.
  const target = o.courtCode === null ? `(business_date) where scope = 'account'` : '(court_code, business_date)';
  return knex.transaction(async (tx) => {
    const { rows } = await tx.raw(
      `insert into reconciliation_runs (public_id, court_code, scope, business_date, status, source, started_by)
       values (?, ?, ?, ?, 'running', ?, ?)
       on conflict ${target} do update
         set status = 'running', attempt = reconciliation_runs.attempt + 1, source = excluded.source, started_by = excluded.started_by,
             started_at = now(), finished_at = null, failure_reason = null, totals = null, checks = '{}'
         where reconciliation_runs.status <> 'running' or reconciliation_runs.started_at < now() - make_interval(mins => ?)
       returning *`,
      [publicId('rec'), o.courtCode, o.courtCode === null ? 'account' : 'court', o.date, o.source, o.startedBy, STALE_RUN_MINUTES],
    );
    const run = rows[0] as RunRow | undefined;
    if (run) await tx('reconciliation_items').where({ run_id: run.id }).whereNot({ status: 'resolved' }).delete();
    return run ?? null;
  });
}

/** A court-day's run, or (courtCode null) the account-level run of the date. */
export async function runOfDay(db: Queryable, courtCode: string | null, date: string): Promise<RunRow | undefined> {
  const q = db<RunRow>('reconciliation_runs').where({ business_date: date });
  if (courtCode === null) q.where({ scope: 'account' });
  else q.where({ court_code: courtCode });
  return (await q.first()) as RunRow | undefined;
}

export async function failRun(knex: Knex, runId: number, reason: string): Promise<RunRow> {
  return knex.transaction(async (tx) => {
    await tx('reconciliation_items').where({ run_id: runId }).whereNot({ status: 'resolved' }).delete();
    const [row] = await tx('reconciliation_runs').where({ id: runId }).update({ status: 'failed', failure_reason: reason.slice(0, 2000), finished_at: new Date(), totals: null }).returning('*');
    return row as RunRow;
  });
}

export async function completeRun(tx: Knex.Transaction, runId: number, totals: unknown, checks: unknown): Promise<RunRow> {
  const [row] = await tx('reconciliation_runs')
    .where({ id: runId })
    .update({ status: 'completed', finished_at: new Date(), totals: JSON.stringify(totals), checks: JSON.stringify(checks) })
    .returning('*');
  return row as RunRow;
}

export async function loadVisibleRun(db: Queryable, principal: Principal, id: string): Promise<RunRow> {
  const run = (await db<RunRow>('reconciliation_runs').where({ public_id: id }).first()) as RunRow | undefined;
  if (!run) throw new NotFoundError(`reconciliation run ${id}`);
  assertCanSeeRunCourt(principal, run.court_code, `reconciliation run ${id}`);
  return run;
}

/** A run's or item's court: an account-level one (null) is every court's, so only an all-courts key sees it (else 404). */
export function assertCanSeeRunCourt(principal: Principal, courtCode: string | null, what: string): void {
  if (courtCode === null) {
    if (!principal.allCourts) throw new NotFoundError(what);
  } else assertCanSee(principal, courtCode, what);
}

export async function countsByKind(db: Queryable, runId: number): Promise<Record<string, { total: number; open: number; healed: number; resolved: number }>> {
  const rows = await db('reconciliation_items')
    .where({ run_id: runId })
    .groupBy('kind')
    .select('kind')
    .select(db.raw('count(*)::int as total'), db.raw(`count(*) filter (where status = 'open')::int as open`))
    .select(db.raw(`count(*) filter (where status = 'healed')::int as healed`), db.raw(`count(*) filter (where status = 'resolved')::int as resolved`));
  return Object.fromEntries(rows.map((r: { kind: string; total: number; open: number; healed: number; resolved: number }) => [r.kind, { total: r.total, open: r.open, healed: r.healed, resolved: r.resolved }]));
}

export function itemQuery(db: Queryable) {
  return db('reconciliation_items as it')
    .join('reconciliation_runs as run', 'run.id', 'it.run_id')
    .leftJoin('payments as p', 'p.id', 'it.payment_id')
    .leftJoin('refunds as r', 'r.id', 'it.refund_id')
    .leftJoin('invoices as i', 'i.id', 'it.invoice_id')
    .select('it.*', 'run.public_id as run_public_id', 'p.public_id as payment_public_id', 'r.public_id as refund_public_id', 'i.public_id as invoice_public_id');
}

export function presentRun(r: RunRow, counts?: Record<string, unknown>) {
  return {
    id: r.public_id,
    courtCode: r.court_code,
    scope: r.scope,
    date: r.business_date,
    status: r.status,
    source: r.source,
    attempt: r.attempt,
    startedBy: r.started_by,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    failureReason: r.failure_reason,
    totals: r.status === 'completed' ? r.totals : null,
    checks: r.checks,
    ...(counts ? { counts } : {}),
  };
}

type TwoPeople = { people?: Record<string, PersonSnapshot>; proposed_by?: string | null; proposed_note?: string | null; proposed_at?: Date | null };
const people = (i: ItemView) => (i as TwoPeople).people ?? {};

/** Over the two-person amount: the first person's resolution, awaiting (or given) a second person's confirmation. */
function proposalOf(i: ItemView) {
  const t = i as TwoPeople;
  return t.proposed_at ? { note: t.proposed_note ?? null, by: t.proposed_by ?? null, at: t.proposed_at, person: shownPerson(people(i).proposed) } : null;
}

export function presentItem(i: ItemView) {
  return {
    id: i.public_id,
    runId: i.run_public_id,
    courtCode: i.court_code,
    kind: i.kind,
    status: i.status,
    grade: i.grade,
    caseNumber: i.case_number,
    invoiceId: i.invoice_public_id,
    paymentId: i.payment_public_id,
    refundId: i.refund_public_id,
    balanceTransactionId: i.balance_transaction_id,
    processorObjectId: i.processor_object_id,
    paymentIntentId: i.payment_intent_id,
    payoutId: i.payout_id,
    expectedAmount: i.expected_amount,
    actualAmount: i.actual_amount,
    currency: i.currency?.toUpperCase() ?? null,
    detail: i.detail,
    resolution: i.resolved_at ? { note: i.resolution_note, by: i.resolved_by, at: i.resolved_at, person: shownPerson(people(i).resolved) } : null,
    proposal: proposalOf(i),
    createdAt: i.created_at,
  };
}
