import type { Knex } from 'knex';
import { publicId } from '../auth/keys';
import type { Config } from '../config';
import { loadCallbackSources, presentCallbackData } from './payload';

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

let presentConfig: Readonly<Config> | null = null;

/**
 * Gives the callbacks module the configuration the API's presenters need (payment links, court
 * time zones). Called once at start-up (buildApp, the worker, the jobs); emitCallback has no config
 * parameter because the domain code calls it from deep inside its own use-cases.
 */
export function initCallbacks(config: Readonly<Config>): void {
  presentConfig = config;
}

// One indexed query when nobody listens: the invoice by primary key, joined to the (few) enabled endpoints.
const SUBSCRIBERS_SQL = `select e.id from invoices i join callback_endpoints e
  on e.enabled and ? = any(e.event_types) and (e.all_courts or i.court_code = any(e.court_codes))
  where i.id = ? order by e.id`;

/** The configuration the presenters need, as given to initCallbacks. */
export function callbackConfig(): Readonly<Config> {
  if (!presentConfig) throw new Error('callbacks: initCallbacks(config) was not called at start-up');
  return presentConfig;
}

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
export async function emitCallback(tx: Knex.Transaction, event: CallbackEvent): Promise<void> {
  const { rows } = (await tx.raw(SUBSCRIBERS_SQL, [event.type, event.invoiceId])) as { rows: { id: number }[] };
  if (!rows.length) return;
  const config = callbackConfig();
  const data = presentCallbackData(config, await loadCallbackSources(tx, event), event.type);
  await tx('callback_messages').insert(callbackMessages(rows.map((e) => e.id), event, data));
}
