import type { Knex } from 'knex';
import type { Queryable } from '../db';

/**
 * The double-entry ledger. Every money movement is one transaction whose lines sum to zero
 * (debits positive, credits negative) — checked here and, at commit, by a deferred constraint
 * trigger in the database. Rows are never updated or deleted.
 */
export type Account = 'processor_clearing' | 'fee_income' | 'processor_fees' | 'disputed_funds' | 'refunds_payable';

export interface LedgerLine {
  account: Account;
  /** Signed fen: debit positive, credit negative. */
  amount: number;
}

export interface LedgerPosting {
  kind: string;
  courtCode: string;
  invoiceId?: number | null;
  paymentId?: number | null;
  /** The refund it belongs to (refund_settled, refund_returned): how reconciliation finds a refund's posting. */
  refundId?: number | null;
  /** What caused it: an event id, a job run, a request id. */
  source: string;
  description?: string;
  lines: LedgerLine[];
}

export class UnbalancedPostingError extends Error {}

/** Debit one account and credit another by the same amount. */
export function transfer(debit: Account, credit: Account, amount: number): LedgerLine[] {
  return [
    { account: debit, amount },
    { account: credit, amount: -amount },
  ];
}

/** A posting's rows with its zero-amount lines dropped; throws unless the lines balance. Null when nothing moves. */
export function postingRow(p: LedgerPosting) {
  const lines = p.lines.filter((l) => l.amount !== 0);
  if (lines.reduce((s, l) => s + l.amount, 0) !== 0) throw new UnbalancedPostingError(`ledger posting ${p.kind} does not balance`);
  if (!lines.length) return null;
  return { kind: p.kind, court_code: p.courtCode, invoice_id: p.invoiceId ?? null, payment_id: p.paymentId ?? null, refund_id: p.refundId ?? null, source: p.source, description: p.description ?? null, lines };
}

export async function post(tx: Knex.Transaction, p: LedgerPosting): Promise<number> {
  const row = postingRow(p);
  if (!row) return 0;
  // One round trip: the transaction row and its lines in one statement.
  const { rows } = await tx.raw(
    `with t as (
       insert into ledger_transactions (kind, court_code, invoice_id, payment_id, refund_id, source, description) values (?, ?, ?, ?, ?, ?, ?) returning id
     )
     insert into ledger_entries (transaction_id, account, court_code, invoice_id, amount)
     select t.id, l.account, ?, ?, l.amount from t, jsonb_to_recordset(?::jsonb) as l(account text, amount bigint)
     returning transaction_id`,
    [row.kind, row.court_code, row.invoice_id, row.payment_id, row.refund_id, row.source, row.description, row.court_code, row.invoice_id, JSON.stringify(row.lines)],
  );
  return rows[0].transaction_id as number;
}

/** Balances by account, optionally for one court or one invoice: sums over the entries. */
export async function balances(db: Queryable, where: { courtCode?: string; invoiceId?: number } = {}): Promise<Record<string, number>> {
  const q = db('ledger_entries').select('account').sum<{ account: string; sum: number }[]>('amount as sum').groupBy('account');
  if (where.courtCode) q.where('court_code', where.courtCode);
  if (where.invoiceId) q.where('invoice_id', where.invoiceId);
  return Object.fromEntries((await q).map((r) => [r.account, Number(r.sum)]));
}

/** Ledger transactions that do not sum to zero (there must never be any). */
export async function unbalancedTransactions(db: Queryable): Promise<{ transaction_id: number; total: number }[]> {
  const { rows } = await db.raw('select transaction_id, sum(amount)::bigint as total from ledger_entries group by transaction_id having sum(amount) <> 0');
  return rows;
}
