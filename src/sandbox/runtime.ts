import type { Knex } from 'knex';
import { pgCode, PG } from '../shared/errors';
import type { WebhookQueue } from './delivery';
import { idempotencyMismatch } from './errors';
import { event } from './objects';
import { newId } from './params';
import { present, store, type StripeObject } from './store';

export interface Ctx {
  knex: Knex;
  queue: WebhookQueue;
  publicBaseUrl: string;
  feeBps: number;
}

/** One unit of work: its writes commit together, and the events it emits are sent only after. */
export interface Unit {
  tx: Knex.Transaction;
  emit(type: string, object: StripeObject, orderKey: string, previous?: Record<string, unknown>): Promise<void>;
}

export interface Idempotency {
  key: string;
  hash: string;
}

export interface RunResult<T> {
  result: T;
  replayed: boolean;
}

/**
 * Runs fn in a transaction. With an idempotency key: a stored answer for the same request is
 * replayed (fn does not run), another request under that key is refused, and the answer of a
 * new one is stored in the same transaction as the objects it made.
 */
export async function run<T extends StripeObject>(ctx: Ctx, fn: (u: Unit) => Promise<T>, idem?: Idempotency): Promise<RunResult<T>> {
  const emitted: { key: string; event: StripeObject }[] = [];
  const request = { id: idem ? newId('req', 14) : null, idempotency_key: idem?.key ?? null };
  let out: RunResult<T>;
  try {
    out = await ctx.knex.transaction(async (tx) => {
      if (idem) {
        const prior = await store.findIdempotency(tx, idem.key);
        if (prior) return replay<T>(prior, idem);
      }
      const unit: Unit = {
        tx,
        async emit(type, object, orderKey, previous) {
          const e = event(type, object, request, previous);
          await store.insert(tx, e);
          emitted.push({ key: orderKey, event: e });
        },
      };
      const result = await fn(unit);
      if (idem) await store.saveIdempotency(tx, newId('idk'), idem.key, { request_hash: idem.hash, response: present(result) });
      return { result, replayed: false };
    });
  } catch (e) {
    // Another request with this key committed first: answer as a retry would.
    if (!idem || pgCode(e) !== PG.uniqueViolation) throw e;
    const prior = await store.findIdempotency(ctx.knex, idem.key);
    if (!prior) throw e;
    return replay<T>(prior, idem);
  }
  for (const { key, event: e } of emitted) ctx.queue.enqueue(key, e);
  return out;
}

function replay<T>(prior: { request_hash: string; response: StripeObject }, idem: Idempotency): RunResult<T> {
  if (prior.request_hash !== idem.hash) throw idempotencyMismatch(idem.key);
  return { result: prior.response as unknown as T, replayed: true };
}
