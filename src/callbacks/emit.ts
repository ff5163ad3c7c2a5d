import type { Knex } from 'knex';
import { publicId } from '../auth/keys';

/** What a case system can subscribe to (API.md, issue 6). */
export const CALLBACK_TYPES = [
  'invoice.issued', 'invoice.paid', 'invoice.partially_paid', 'invoice.overdue', 'invoice.cancelled',
  'payment.failed', 'payment.disputed', 'refund.requested', 'refund.succeeded', 'refund.failed', 'case.refund_due',
] as const;
export type CallbackType = (typeof CALLBACK_TYPES)[number];

/** The change a case system is told about; ids are internal row ids of the rows the change touched. */
export interface CallbackEvent {
  type: CallbackType;
  invoiceId: number;
  paymentId?: number;
  refundId?: number;
}

/**
 * Builds a callback's `data` in the emitting transaction, as the capability that made the change
 * presents it (callbacks/payload.ts: callbackData(config)). The outbox knows no domain and no
 * configuration: whoever emits hands the presenter in, so it is only called when someone listens.
 */
export type CallbackPresenter = (tx: Knex.Transaction, event: CallbackEvent) => Promise<unknown>;

// One indexed query when nobody listens: the invoice by primary key, joined to the (few) enabled endpoints.
const SUBSCRIBERS_SQL = `select e.id from invoices i join callback_endpoints e
  on e.enabled and ? = any(e.event_types) and (e.all_courts or i.court_code = any(e.court_codes))
  where i.id = ? order by e.id`;

/** An outbox row, ready to insert. */
export interface CallbackMessageRow {
  public_id: string;
  endpoint_id: number;
  invoice_id: number;
  type: CallbackType;
  payload: string;
  created_at: string;
}

/** One outbox row per subscribed endpoint, each with its own delivery id, all with the same data. */
export function callbackMessages(endpointIds: number[], event: Pick<CallbackEvent, 'type' | 'invoiceId'>, data: unknown): CallbackMessageRow[] {
  const createdAt = new Date().toISOString();
  return endpointIds.map((endpointId) => {
    const id = publicId('cbm');
    return { public_id: id, endpoint_id: endpointId, invoice_id: event.invoiceId, type: event.type, payload: JSON.stringify({ id, type: event.type, createdAt, data }), created_at: createdAt };
  });
}

/**
 * Writes the callback messages for a change into the outbox, in the transaction that made the
 * change — so a rolled-back change emits nothing and a crash after commit loses nothing. `data` is
 * built now, so the case system learns the state as it was right after this change.
 */
export async function emitCallback(tx: Knex.Transaction, event: CallbackEvent, present: CallbackPresenter): Promise<void> {
  const { rows } = (await tx.raw(SUBSCRIBERS_SQL, [event.type, event.invoiceId])) as { rows: { id: number }[] };
  if (!rows.length) return;
  const data = await present(tx, event);
  await tx('callback_messages').insert(callbackMessages(rows.map((e) => e.id), event, data));
}
