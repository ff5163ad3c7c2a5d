import Joi from 'joi';
import type { Response } from 'express';
import { assertCourtInScope, canSeeCourt, type Principal } from '../auth/principal';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import type { Queryable } from '../db';
import { decodeCursor, encodeCursor, pageOf, withinCourts } from '../http/lists';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { isoDate } from '../http/validate';
import type { Processor } from '../payments/processor';
import { ConflictError } from '../shared/errors';
import { UNATTRIBUTED_KIND } from './account-run';
import { closedAccountDay, closedCourtDay, hasAccountDay } from './court-day';
import { KIND_NAMES } from './findings';
import { itemsCsvHeader, itemCsvLine } from './items-csv';
import { resolveItem } from './resolve';
import { reconcileCourts } from './run';
import { countsByKind, itemQuery, loadVisibleRun, presentItem, presentRun, runOfDay, type ItemView, type RunRow } from './run-store';

const runIdParam = Joi.object({ runId: Joi.string().pattern(/^rec_[A-Za-z0-9]{1,40}$/).required() });
const CSV_PAGE = 1000;

/** The courts a run-now request covers: the one named (in scope, else 403), or every court the key may see. */
function courtsFor(config: Readonly<Config>, principal: Principal, courtCode?: string): string[] {
  if (courtCode) {
    requireCourt(config, courtCode);
    assertCourtInScope(principal, courtCode);
    return [courtCode];
  }
  return config.courts.map((c) => c.code).filter((c) => canSeeCourt(principal, c));
}

async function streamCsv(db: Queryable, res: Response, run: RunRow, where: { kind?: string; status?: string }): Promise<void> {
  res.status(200);
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="reconciliation-${run.court_code ?? 'account'}-${run.business_date}.csv"`);
  res.write(itemsCsvHeader());
  let after = 0;
  for (;;) {
    const q = itemQuery(db).where('it.run_id', run.id).where('it.id', '>', after).orderBy('it.id').limit(CSV_PAGE);
    if (where.kind) q.where('it.kind', where.kind);
    if (where.status) q.where('it.status', where.status);
    const rows = (await q) as ItemView[];
    if (rows.length) res.write(rows.map((r) => itemCsvLine(r, run)).join(''));
    if (rows.length < CSV_PAGE) break;
    after = rows[rows.length - 1].id;
  }
  res.end();
}

/**
 * Finance's reconciliation. Running one does processor I/O and many short transactions, so the
 * POST manages its own (like the webhook route) instead of holding one request transaction; the
 * database's claim on the court-day is what makes a second concurrent run answer 409.
 */
export function reconciliationRoutes(processor: Processor): RouteDef[] {
  return [
    {
      method: 'post', path: '/v1/reconciliations', summary: 'Run (or rerun, replacing its results) the reconciliation of a court-day; without courtCode every court in scope, and for an all-courts key the account-level run (every processor line; unattributed ones reported)', tag: 'reconciliation', access: ['finance'],
      body: Joi.object({ date: isoDate().required(), courtCode: Joi.string().pattern(/^\d{4,6}$/) }),
      responses: { 201: json('{ data: [run] } — completed or failed (with failureReason)', listOf(ref('ReconciliationRun'), false)), 409: 'a run of that court-day is in progress' },
      async read({ db, config, principal, body }) {
        const courts = courtsFor(config, principal, body.courtCode);
        // Every court, asked by a key that sees every court: the account-level run of the day too.
        const account = !body.courtCode && principal.allCourts && hasAccountDay(config);
        for (const c of courts) closedCourtDay(config, c, body.date);
        if (account) closedAccountDay(config, body.date);
        const outcomes = await reconcileCourts({ knex: db, config, processor }, { date: body.date, courtCodes: courts, account, startedBy: `api_key:${principal.keyId}` });
        const busy = outcomes.filter((o) => o.outcome === 'already_running');
        if (busy.length && courts.length === 1) throw new ConflictError('reconciliation_running', `the reconciliation of court ${courts[0]} for ${body.date} is already running`);
        const data = [];
        for (const o of outcomes) {
          const row = o.outcome === 'already_running' ? await runOfDay(db, o.courtCode, o.date) : o.run;
          if (row) data.push(presentRun(row as RunRow, await countsByKind(db, (row as RunRow).id)));
        }
        return { status: 201, body: { data } };
      },
    },
    {
      method: 'get', path: '/v1/reconciliations', summary: 'Reconciliation runs by date, court and status', tag: 'reconciliation', access: ['finance'],
      query: Joi.object({
        date: isoDate(),
        courtCode: Joi.string().max(10),
        status: Joi.string().valid('running', 'completed', 'failed'),
        scope: Joi.string().valid('court', 'account'),
        limit: Joi.number().integer().min(1).max(200).default(50),
        cursor: Joi.string().max(200),
      }),
      responses: { 200: json('{ data: [run], nextCursor }', listOf(ref('ReconciliationRun'))) },
      async read({ db, config, principal, query }) {
        const q = db<RunRow>('reconciliation_runs');
        withinCourts(q, 'court_code', config, principal, query.courtCode);
        if (query.date) q.where('business_date', query.date);
        if (query.status) q.where('status', query.status);
        if (query.scope) q.where('scope', query.scope);
        const { rows, nextCursor } = await pageOf<RunRow>(q, 'id', query);
        return { status: 200, body: { data: rows.map((r) => presentRun(r)), nextCursor } };
      },
    },
    {
      method: 'get', path: '/v1/reconciliations/{runId}', summary: 'One run: totals, checks and counts by discrepancy kind', tag: 'reconciliation', access: ['finance'],
      params: runIdParam, responses: { 200: json('the run', ref('ReconciliationRun')) },
      async read({ db, principal, params }) {
        const run = await loadVisibleRun(db, principal, params.runId);
        return { status: 200, body: presentRun(run, await countsByKind(db, run.id)) };
      },
    },
    {
      method: 'get', path: '/v1/reconciliations/{runId}/items', summary: 'A run\'s discrepancy lines, by kind; Accept: text/csv for the CSV export', tag: 'reconciliation', access: ['finance'],
      params: runIdParam,
      query: Joi.object({
        kind: Joi.string().valid(...KIND_NAMES, UNATTRIBUTED_KIND),
        status: Joi.string().valid('open', 'healed', 'resolved'),
        limit: Joi.number().integer().min(1).max(500).default(100),
        cursor: Joi.string().max(200),
      }),
      responses: { 200: json('{ data: [item], nextCursor } or text/csv', listOf(ref('ReconciliationItem'))), 409: 'the run has not completed' },
      produces: 'application/json, text/csv',
      async read({ db, principal, params, query, req, res }) {
        const run = await loadVisibleRun(db, principal, params.runId);
        if (run.status !== 'completed') throw new ConflictError('reconciliation_not_complete', `run ${run.public_id} is ${run.status}; its lines are not a complete result`);
        if (req.accepts(['application/json', 'text/csv']) === 'text/csv') return streamCsv(db, res, run, query);
        const q = itemQuery(db).where('it.run_id', run.id);
        if (query.kind) q.where('it.kind', query.kind);
        if (query.status) q.where('it.status', query.status);
        if (query.cursor) q.where('it.id', '>', decodeCursor(query.cursor));
        const rows = (await q.orderBy('it.id').limit(query.limit + 1)) as ItemView[];
        const page = rows.slice(0, query.limit);
        return { status: 200, body: { data: page.map(presentItem), nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].id) : null } };
      },
    },
    {
      method: 'post', path: '/v1/reconciliation-items/{itemId}/resolve', tag: 'reconciliation', access: ['finance'], sessions: true,
      summary: 'Mark a discrepancy resolved, with a note (audited); over reconciliation.secondPersonAboveFen a person proposes and a second person confirms',
      params: Joi.object({ itemId: Joi.string().pattern(/^reci_[A-Za-z0-9]{1,40}$/).required() }),
      body: Joi.object({ note: Joi.string().trim().min(1).max(2000).required() }),
      responses: {
        200: json('the item, resolved', ref('ReconciliationItem')),
        202: json('over the amount: the item with `proposal` (still open), awaiting a second person\'s call on this route', ref('ReconciliationItem')),
        403: 'person_required (over the amount, a key with no person) or own_resolution (the proposer confirming)',
        409: 'already resolved',
      },
      async write({ principal, params, body, config }, tx) {
        const r = await resolveItem(tx, principal, params.itemId, body.note, config.reconciliation.secondPersonAboveFen);
        return { status: r.proposed ? 202 : 200, body: r.item };
      },
    },
  ];
}

