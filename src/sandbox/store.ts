import type { Knex } from 'knex';

export type Q = Knex | Knex.Transaction;

/** A Stripe-shaped object. `_sandbox` holds the sandbox's own bookkeeping and never leaves it. */
export interface StripeObject {
  id: string;
  object: string;
  created: number;
  _sandbox?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface IdempotencyRecord {
  request_hash: string;
  response: StripeObject;
}

export interface ListQuery {
  type: string;
  created?: { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number };
  /** data->>field = value */
  equals?: Record<string, string>;
  /** Balance transactions paid out in this payout (and the payout's own). */
  payout?: string;
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

const TABLE = 'sandbox_objects';

/** The object as the API shows it: without the sandbox's bookkeeping. */
export function present(o: StripeObject): StripeObject {
  const { _sandbox: _hidden, ...rest } = o;
  return rest as StripeObject;
}

/** Every sandbox object lives in sandbox_objects (id, type, data): nothing in process memory. */
export const store = {
  async get(q: Q, id: string): Promise<StripeObject | null> {
    const row = await q(TABLE).where({ id }).first('data');
    return row ? (row.data as StripeObject) : null;
  },

  /** Reads and row-locks the object for the rest of the transaction. */
  async lock(tx: Knex.Transaction, id: string): Promise<StripeObject | null> {
    const row = await tx(TABLE).where({ id }).forUpdate().first('data');
    return row ? (row.data as StripeObject) : null;
  },

  async insert(q: Q, ...objects: StripeObject[]): Promise<void> {
    if (objects.length === 0) return;
    await q(TABLE).insert(objects.map((o) => ({ id: o.id, type: o.object, data: JSON.stringify(o) })));
  },

  async update(q: Q, o: StripeObject): Promise<void> {
    await q(TABLE).where({ id: o.id }).update({ data: JSON.stringify(o), updated_at: q.fn.now() });
  },

  async findIdempotency(q: Q, key: string): Promise<IdempotencyRecord | null> {
    const row = await q(TABLE).where({ idempotency_key: key, type: 'idempotency_key' }).first('data');
    return row ? (row.data as IdempotencyRecord) : null;
  },

  async saveIdempotency(q: Q, id: string, key: string, record: IdempotencyRecord): Promise<void> {
    await q(TABLE).insert({ id, type: 'idempotency_key', idempotency_key: key, data: JSON.stringify(record) });
  },

  /** Newest first, like Stripe's list endpoints; cursors by object id. */
  async list(q: Q, lq: ListQuery): Promise<{ data: StripeObject[]; has_more: boolean }> {
    const query = q(TABLE).where('type', lq.type).select('data');
    const created = "(data->>'created')::bigint";
    const c = lq.created ?? {};
    if (c.eq !== undefined) query.whereRaw(`${created} = ?`, [c.eq]);
    if (c.gt !== undefined) query.whereRaw(`${created} > ?`, [c.gt]);
    if (c.gte !== undefined) query.whereRaw(`${created} >= ?`, [c.gte]);
    if (c.lt !== undefined) query.whereRaw(`${created} < ?`, [c.lt]);
    if (c.lte !== undefined) query.whereRaw(`${created} <= ?`, [c.lte]);
    for (const [field, value] of Object.entries(lq.equals ?? {})) query.whereRaw('data->>? = ?', [field, value]);
    if (lq.payout) query.where((w) => w.whereRaw("data->'_sandbox'->>'payout' = ?", [lq.payout!]).orWhereRaw("data->>'source' = ?", [lq.payout!]));
    const cursor = `(select created_at, id from ${TABLE} where id = ?)`;
    let ascending = false;
    if (lq.startingAfter) query.whereRaw(`(created_at, id) < ${cursor}`, [lq.startingAfter]);
    else if (lq.endingBefore) {
      query.whereRaw(`(created_at, id) > ${cursor}`, [lq.endingBefore]);
      ascending = true;
    }
    const dir = ascending ? 'asc' : 'desc';
    const rows = await query.orderBy([{ column: 'created_at', order: dir }, { column: 'id', order: dir }]).limit(lq.limit + 1);
    const data = rows.slice(0, lq.limit).map((r) => r.data as StripeObject);
    if (ascending) data.reverse();
    return { data, has_more: rows.length > lq.limit };
  },

  /** Available balance transactions no payout has taken yet, locked for the payout being made. */
  async unpaidBalanceTransactions(tx: Knex.Transaction): Promise<StripeObject[]> {
    const rows = await tx(TABLE)
      .where('type', 'balance_transaction')
      .whereRaw("data->>'type' <> 'payout'")
      .whereRaw("data->>'status' = 'available'")
      .whereRaw("data->'_sandbox'->>'payout' is null")
      .orderBy('created_at')
      .forUpdate()
      .select('data');
    return rows.map((r) => r.data as StripeObject);
  },
};
