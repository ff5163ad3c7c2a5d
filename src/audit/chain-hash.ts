import crypto from 'node:crypto';

/**
 * The chain's hash, recomputed independently of the database (the triggers of migration
 * 20261201100000, as replaced by 20261201130000, compute the same): hash = SHA-256(previous hash ‖ UTF-8(message)), where
 * message = F(table) F(chain) F(seq) F(column)… and F(null) = "~", F(v) = byteLength(v) ":" v.
 * Column values are their Postgres text forms; timestamps are microseconds since the Unix epoch;
 * jsonb is its canonical text output.
 */
export const CHAINED_TABLES = {
  audit_events: ['id', 'occurred_at', 'actor_type', 'actor_id', 'action', 'entity_type', 'entity_id', 'request_id', 'before', 'after', 'court_code'],
  ledger_transactions: ['id', 'created_at', 'kind', 'court_code', 'invoice_id', 'payment_id', 'refund_id', 'source', 'description'],
  ledger_entries: ['id', 'created_at', 'transaction_id', 'account', 'court_code', 'invoice_id', 'amount', 'currency'],
} as const;
export type ChainedTable = keyof typeof CHAINED_TABLES;

/** The head of an empty chain. */
export const GENESIS = Buffer.alloc(32);
/** The chain of audit rows that belong to no court. */
export const GLOBAL_CHAIN = 'global';

function field(v: string | null): string {
  return v === null ? '~' : `${Buffer.byteLength(v, 'utf8')}:${v}`;
}

/** The link's hash: `values` are the table's chained columns in CHAINED_TABLES order, as text (null stays null). */
export function linkHash(prev: Buffer, table: ChainedTable, chain: string, seq: number | string, values: (string | null)[]): Buffer {
  if (values.length !== CHAINED_TABLES[table].length) throw new Error(`${table}: expected ${CHAINED_TABLES[table].length} values, got ${values.length}`);
  const message = field(table) + field(chain) + field(String(seq)) + values.map(field).join('');
  return crypto.createHash('sha256').update(prev).update(message, 'utf8').digest();
}

/** The SQL that reads a chained column as the text the hash is over (timestamps as epoch microseconds). */
export function columnText(column: string): string {
  if (column === 'occurred_at' || column === 'created_at') return `(extract(epoch from ${column}) * 1000000)::bigint::text`;
  return `${column}::text`;
}
