import { once } from 'node:events';
import type { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvLine, parseCsv, type Field } from './csv';

/**
 * The scratch tables a run stages the processor's lines in: one for the court-day's balance
 * transactions, one for the transactions of the day's payouts. Unlogged and per run, dropped when
 * the run ends (and at the start of a rerun), so the day's lines never sit in process memory.
 */
export const LINE_COLUMNS = [
  'bt_id', 'created_utc', 'currency', 'gross', 'fee', 'net', 'category', 'source_id', 'charge_id', 'payment_intent_id',
  'meta_payment_id', 'meta_court_code', 'meta_refund_id', 'meta_refund_court_code',
] as const;

/** The columns we ask Stripe's report for, in the order the stage names them. Amounts come as decimal yuan. */
export const REPORT_COLUMNS: Record<string, (typeof LINE_COLUMNS)[number]> = {
  balance_transaction_id: 'bt_id',
  created_utc: 'created_utc',
  currency: 'currency',
  gross: 'gross',
  fee: 'fee',
  net: 'net',
  reporting_category: 'category',
  source_id: 'source_id',
  charge_id: 'charge_id',
  payment_intent_id: 'payment_intent_id',
  'payment_metadata[payment_id]': 'meta_payment_id',
  'payment_metadata[court_code]': 'meta_court_code',
  'refund_metadata[refund_id]': 'meta_refund_id',
  'refund_metadata[court_code]': 'meta_refund_court_code',
};

const COLUMN_TYPES = `bt_id text, created_utc timestamp, currency text, gross numeric, fee numeric, net numeric, category text, source_id text,
  charge_id text, payment_intent_id text, meta_payment_id text, meta_court_code text, meta_refund_id text, meta_refund_court_code text`;

export interface StageTables {
  lines: string;
  payouts: string;
  matched: string;
}

export function stageTables(runId: number): StageTables {
  return { lines: `reconciliation_stage_${runId}`, payouts: `reconciliation_stage_${runId}_payouts`, matched: `reconciliation_stage_${runId}_matched` };
}

export async function createStage(knex: Knex, t: StageTables): Promise<void> {
  await dropStage(knex, t);
  await knex.raw(`create unlogged table ${t.lines} (${COLUMN_TYPES})`);
  await knex.raw(`create unlogged table ${t.payouts} (payout_id text not null, ${COLUMN_TYPES})`);
}

export async function dropStage(knex: Knex, t: StageTables): Promise<void> {
  await knex.raw(`drop table if exists ${t.lines}; drop table if exists ${t.payouts}; drop table if exists ${t.matched}`);
}

/** Where staged rows go: COPY on a Postgres server; batched multi-row inserts on the embedded PGlite (its socket has no COPY FROM STDIN). */
export interface RowSink {
  write(row: readonly Field[]): Promise<void>;
  close(): Promise<number>;
  /** Gives up: the rows written so far are discarded (COPY is cancelled) and the connection is returned. */
  abort(): Promise<void>;
}

export function rowSink(knex: Knex, embedded: boolean, table: string, columns: readonly string[]): RowSink {
  return embedded ? insertSink(knex, table, columns) : copySink(knex, table, columns);
}

const INSERT_BATCH = 500;
const COPY_CHUNK = 64 * 1024;

function insertSink(knex: Knex, table: string, columns: readonly string[]): RowSink {
  let batch: Record<string, Field>[] = [];
  let count = 0;
  const flush = async () => {
    if (!batch.length) return;
    await knex(table).insert(batch);
    count += batch.length;
    batch = [];
  };
  return {
    async write(row) {
      batch.push(Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])));
      if (batch.length >= INSERT_BATCH) await flush();
    },
    async close() {
      await flush();
      return count;
    },
    async abort() {
      batch = [];
    },
  };
}

interface PooledClient {
  query(q: unknown): Writable & { rowCount: number };
}

/** COPY … FROM STDIN on a connection of the pool, fed in 64 KB chunks with backpressure. */
function copySink(knex: Knex, table: string, columns: readonly string[]): RowSink {
  let started: Promise<{ conn: PooledClient; stream: Writable & { rowCount: number }; done: Promise<void> }> | null = null;
  let buffer = '';
  const start = () =>
    (started ??= (async () => {
      const conn = (await knex.client.acquireConnection()) as PooledClient;
      const stream = conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT csv)`));
      const done = new Promise<void>((resolve, reject) => {
        stream.on('finish', resolve);
        stream.on('error', reject);
      });
      done.catch(() => undefined);
      return { conn, stream, done };
    })());
  const push = async (text: string) => {
    const { stream } = await start();
    if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'error').then(([e]) => Promise.reject(e))]);
  };
  return {
    async write(row) {
      buffer += csvLine(row);
      if (buffer.length >= COPY_CHUNK) {
        const text = buffer;
        buffer = '';
        await push(text);
      }
    },
    async close() {
      const s = await start();
      try {
        if (buffer) await push(buffer);
        buffer = '';
        s.stream.end();
        await s.done;
        return s.stream.rowCount;
      } finally {
        await knex.client.releaseConnection(s.conn);
      }
    },
    async abort() {
      if (!started) return;
      const s = await started;
      s.stream.destroy(new Error('staging aborted'));
      await s.done.catch(() => undefined);
      await knex.client.releaseConnection(s.conn);
    },
  };
}

/**
 * Streams a report file (CSV with a header row) into a stage table: on a server the bytes go to
 * COPY as they arrive, with the header mapped onto the stage's columns; on the embedded database
 * rows are parsed and inserted in batches.
 */
export async function stageCsv(knex: Knex, embedded: boolean, table: string, body: AsyncIterable<Uint8Array | string>, names: Record<string, string>): Promise<number> {
  const chunks = body[Symbol.asyncIterator]();
  // The header is found at the byte level, so a multi-byte character split across chunks stays whole.
  let head = Buffer.alloc(0);
  let rest = Buffer.alloc(0);
  for (;;) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, toBuffer(next.value)]);
    const nl = head.indexOf(0x0a);
    if (nl >= 0) {
      rest = head.subarray(nl + 1);
      head = head.subarray(0, nl);
      break;
    }
  }
  if (!head.toString('utf8').trim()) return 0;
  const header: string[] = [];
  for await (const r of parseCsv([head])) header.push(...r);
  const columns = header.map((h) => {
    const c = names[h.trim()];
    if (!c) throw new Error(`report file has an unexpected column "${h}"`);
    return c;
  });
  async function* remaining() {
    if (rest.length) yield rest;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  }
  if (embedded) {
    const sink = rowSink(knex, true, table, columns);
    for await (const row of parseCsv(remaining())) {
      if (row.length !== columns.length) throw new Error(`report file has a row of ${row.length} fields under a header of ${columns.length}`);
      // Stripe writes an absent value as an unquoted empty field, which COPY reads as NULL (it quotes no empty value).
      await sink.write(row.map((v) => (v === '' ? null : v)));
    }
    return sink.close();
  }
  const conn = (await knex.client.acquireConnection()) as { query(text: string): Promise<unknown> } & PooledClient;
  try {
    // Emptied and filled in one transaction, the rows are written frozen: the matching's first read
    // of them then has no hint bits to set (no second write of every page).
    await conn.query('begin');
    try {
      await conn.query(`truncate ${table}`);
      const stream = conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT csv, FREEZE)`));
      await pipeline(Readable.from(remaining()), stream);
      await conn.query('commit');
      return stream.rowCount;
    } catch (e) {
      await conn.query('rollback').catch(() => undefined);
      throw e;
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

/** fetch() bodies yield Uint8Array (whose toString is not text): make every chunk a Buffer. */
function toBuffer(v: Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
