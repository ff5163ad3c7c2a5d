import type { Knex } from 'knex';
import { CHAINED_TABLES, columnText, GENESIS, GLOBAL_CHAIN, linkHash, type ChainedTable } from './chain-hash';

/**
 * Walks a chain and recomputes every link in TypeScript from the rows' columns (the database is
 * asked for the stored values only, never for a hash): each row must follow the one before
 * (seq + 1, no gap, no second row at a seq), its hash must be what its content and the previous
 * hash give, the chain's head must be its last row, and every published checkpoint must still be
 * the hash stored at its seq. One REPEATABLE READ snapshot per chain, so rows being appended
 * meanwhile are simply not there yet.
 */
export interface ChainFailure {
  chain: string;
  seq: number;
  table: ChainedTable | null;
  id: number | null;
  reason: 'hash_mismatch' | 'missing_row' | 'duplicate_seq' | 'head_mismatch' | 'checkpoint_mismatch';
  detail: string;
}

export interface ChainReport {
  chain: string;
  /** Rows recomputed. */
  verified: number;
  /** The seq the walk started after (0: the genesis). */
  anchorSeq: number;
  head: { seq: number; hash: string };
  failure: ChainFailure | null;
}

export interface VerifyOptions {
  /** One chain (a court code, or "global"); every chain when absent. */
  chain?: string;
  /** Start at the last checkpoint published before this day (UTC, YYYY-MM-DD), else at its first row. */
  from?: string;
  pageSize?: number;
}

interface Row {
  tbl: ChainedTable;
  id: number;
  seq: number;
  hash: string;
  v: (string | null)[];
}

interface Checkpoint {
  seq: number;
  hash: string;
  taken_at: Date;
}

const chainOf = (table: ChainedTable) => (table === 'audit_events' ? `coalesce(court_code, '${GLOBAL_CHAIN}')` : 'court_code');
const tables = Object.keys(CHAINED_TABLES) as ChainedTable[];

/** The chain's rows matching `seqOp ?` in the three tables; bindings: (chain, seq) once per table. */
function rowsSql(seqOp: '>' | '='): string {
  return tables
    .map((t) => `select '${t}' as tbl, id, chain_seq as seq, encode(chain_hash, 'hex') as hash, array[${CHAINED_TABLES[t].map(columnText).join(', ')}] as v
       from ${t} where ${chainOf(t)} = ? and chain_seq ${seqOp} ?`)
    .join(' union all ');
}
const rowsBindings = (chain: string, seq: number) => tables.flatMap(() => [chain, seq]);

async function page(tx: Knex.Transaction, chain: string, after: number, limit: number): Promise<Row[]> {
  const { rows } = await tx.raw(`select * from (${rowsSql('>')}) x order by seq, tbl, id limit ?`, [...rowsBindings(chain, after), limit]);
  return rows;
}

/** Every chain there is: the heads, every court, and the global one. */
export async function chainNames(knex: Knex): Promise<string[]> {
  const { rows } = await knex.raw(`select chain from chain_heads union select code from courts union select ? order by 1`, [GLOBAL_CHAIN]);
  return rows.map((r: { chain: string }) => r.chain);
}

/** Where the walk starts: the genesis, the last checkpoint before `from`, or the row before the first on/after `from`. */
async function anchorOf(tx: Knex.Transaction, chain: string, from?: string): Promise<{ seq: number; hash: Buffer; checkpoint: Checkpoint | null }> {
  if (!from) return { seq: 0, hash: GENESIS, checkpoint: null };
  const day = `(?::date)::timestamp at time zone 'UTC'`;
  const cp = (await tx.raw(`select seq, encode(hash, 'hex') as hash, taken_at from chain_checkpoints where chain = ? and taken_at < ${day} order by seq desc, id desc limit 1`, [chain, from])).rows[0] as Checkpoint | undefined;
  if (cp) return { seq: cp.seq, hash: Buffer.from(cp.hash, 'hex'), checkpoint: cp };
  const firstSql = tables.map((t) => `select min(chain_seq) as seq from ${t} where ${chainOf(t)} = ? and ${t === 'audit_events' ? 'occurred_at' : 'created_at'} >= ${day}`).join(' union all ');
  const [{ seq: first }] = (await tx.raw(`select min(seq) as seq from (${firstSql}) x`, tables.flatMap(() => [chain, from]))).rows;
  const head = (await tx('chain_heads').where({ chain }).first('seq'))?.seq ?? 0;
  const seq = (first ?? head + 1) - 1;
  if (seq <= 0) return { seq: 0, hash: GENESIS, checkpoint: null };
  const row = (await tx.raw(`select * from (${rowsSql('=')}) x limit 1`, rowsBindings(chain, seq))).rows[0] as Row | undefined;
  return { seq, hash: row ? Buffer.from(row.hash, 'hex') : GENESIS, checkpoint: null };
}

export async function verifyChain(knex: Knex, chain: string, opts: Pick<VerifyOptions, 'from' | 'pageSize'> = {}): Promise<ChainReport> {
  return knex.transaction(async (tx) => {
    await tx.raw('set transaction isolation level repeatable read, read only');
    const anchor = await anchorOf(tx, chain, opts.from);
    const head = (await tx('chain_heads').where({ chain }).first('seq', tx.raw(`encode(hash, 'hex') as hash`))) ?? { seq: 0, hash: GENESIS.toString('hex') };
    const report: ChainReport = { chain, verified: 0, anchorSeq: anchor.seq, head, failure: null };
    const fail = (f: Omit<ChainFailure, 'chain'>) => ((report.failure = { chain, ...f }), report);

    const checkpoints = new Map<number, Checkpoint[]>();
    for (const cp of (await tx.raw(`select seq, encode(hash, 'hex') as hash, taken_at from chain_checkpoints where chain = ? and seq >= ? order by seq`, [chain, anchor.seq])).rows as Checkpoint[]) {
      checkpoints.set(cp.seq, [...(checkpoints.get(cp.seq) ?? []), cp]);
    }
    const published = (row: { seq: number; hash: string }) => (checkpoints.get(row.seq) ?? []).find((cp) => cp.hash !== row.hash);
    if (anchor.seq > 0 && anchor.checkpoint) {
      const at = (await tx.raw(`select * from (${rowsSql('=')}) x order by tbl, id`, rowsBindings(chain, anchor.seq))).rows as Row[];
      if (at.length !== 1 || at[0].hash !== anchor.checkpoint.hash) {
        return fail({ seq: anchor.seq, table: at[0]?.tbl ?? null, id: at[0]?.id ?? null, reason: 'checkpoint_mismatch', detail: `the row at seq ${anchor.seq} is not the one published at ${anchor.checkpoint.taken_at.toISOString()} (hash ${anchor.checkpoint.hash}): the chain was rewritten at or before it` });
      }
    }

    let prev = anchor.hash;
    let expected = anchor.seq + 1;
    const pageSize = opts.pageSize ?? 2000;
    for (;;) {
      const rows = await page(tx, chain, expected - 1, pageSize);
      for (const r of rows) {
        const at = { seq: r.seq, table: r.tbl, id: r.id };
        if (r.seq < expected) return fail({ ...at, reason: 'duplicate_seq', detail: `a second row at seq ${r.seq}: the chain forks` });
        if (r.seq > expected) return fail({ ...at, reason: 'missing_row', detail: `no row at seq ${expected}${r.seq - 1 > expected ? `…${r.seq - 1}` : ''} before this one: deleted` });
        const computed = linkHash(prev, r.tbl, chain, r.seq, r.v).toString('hex');
        if (computed !== r.hash) return fail({ ...at, reason: 'hash_mismatch', detail: `stored hash ${r.hash}, recomputed from its content and the previous link ${computed}: changed after it was written` });
        const cp = published(r);
        if (cp) return fail({ ...at, reason: 'checkpoint_mismatch', detail: `hash ${r.hash}, but ${cp.hash} was published for seq ${r.seq} at ${cp.taken_at.toISOString()}: the chain was rewritten at or before this row and its hashes recomputed` });
        prev = Buffer.from(r.hash, 'hex');
        expected += 1;
        report.verified += 1;
      }
      if (rows.length < pageSize) break;
    }
    const last = expected - 1;
    if (head.seq !== last || (last > anchor.seq && head.hash !== prev.toString('hex'))) {
      return fail({ seq: head.seq > last ? last + 1 : head.seq, table: null, id: null, reason: 'head_mismatch', detail: `the chain's head says seq ${head.seq} (hash ${head.hash}) but its last row is seq ${last}${head.seq > last ? ': rows at the end were deleted' : ''}` });
    }
    const beyond = [...checkpoints.values()].flat().find((cp) => cp.seq > last);
    if (beyond) return fail({ seq: beyond.seq, table: null, id: null, reason: 'checkpoint_mismatch', detail: `seq ${beyond.seq} was published at ${beyond.taken_at.toISOString()} but the chain ends at ${last}: rows were removed` });
    return report;
  });
}

/** Every chain (or the one asked for), each walked on its own. */
export async function verifyChains(knex: Knex, opts: VerifyOptions = {}): Promise<ChainReport[]> {
  const names = opts.chain ? [opts.chain] : await chainNames(knex);
  const reports: ChainReport[] = [];
  for (const chain of names) reports.push(await verifyChain(knex, chain, opts));
  return reports;
}
