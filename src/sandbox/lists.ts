import { invalid, noSuch } from './errors';
import { allowOnly, asParams, int, str, type Params } from './params';
import { present, store, type ListQuery, type Q } from './store';

/** Stripe list endpoints: created filters, cursors, limit 1..100 (default 10), the list envelope. */
const COMMON = ['created', 'limit', 'starting_after', 'ending_before', 'expand'];

function created(p: Params): ListQuery['created'] {
  const v = p.created;
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string') return { eq: int(p, 'created') };
  const c = asParams(v);
  allowOnly(c, ['gt', 'gte', 'lt', 'lte'], 'created');
  return { gt: int(c, 'gt', 'created[gt]'), gte: int(c, 'gte', 'created[gte]'), lt: int(c, 'lt', 'created[lt]'), lte: int(c, 'lte', 'created[lte]') };
}

export interface ListSpec {
  type: string;
  url: string;
  /** Filters this endpoint takes that compare one field for equality. */
  fields: string[];
  /** balance_transactions: ?payout= */
  payout?: boolean;
}

export async function listObjects(q: Q, spec: ListSpec, p: Params): Promise<Record<string, unknown>> {
  allowOnly(p, [...COMMON, ...spec.fields, ...(spec.payout ? ['payout'] : [])]);
  const limit = int(p, 'limit') ?? 10;
  if (limit < 1 || limit > 100) throw invalid('This value must be between 1 and 100 (inclusive).', 'limit', 'parameter_invalid_integer');
  const startingAfter = str(p, 'starting_after');
  const endingBefore = str(p, 'ending_before');
  for (const [param, id] of [['starting_after', startingAfter], ['ending_before', endingBefore]] as const) {
    if (id && !(await store.get(q, id))) throw noSuch('object', id, param);
  }
  const equals: Record<string, string> = {};
  for (const f of spec.fields) {
    const v = str(p, f);
    if (v !== undefined) equals[f] = v;
  }
  const page = await store.list(q, { type: spec.type, created: created(p), equals, payout: spec.payout ? str(p, 'payout') : undefined, limit, startingAfter, endingBefore });
  return { object: 'list', data: page.data.map(present), has_more: page.has_more, url: spec.url };
}
