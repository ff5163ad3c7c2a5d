import type { Knex } from 'knex';
import type { Config } from '../config';
import { logger } from '../shared/logger';
import { applyObservation } from './apply';
import { observeSession } from './observe';
import { mayTakePayment } from './open-attempts';
import type { PaymentRow } from './payment-store';
import { withinTimeout, type CallOptions, type Processor } from './processor';

export type SessionState = 'none' | 'open' | 'settling' | 'ended' | 'unknown';

/**
 * Asks the processor where an invoice's pending attempt stands and applies what it says, through
 * the same code as the webhook. The return page uses it so it never has to trust a query string.
 * The processor is asked with no transaction open (`call`: the page's short, unretried call); what
 * it said is applied in a transaction that locks the rows and plans on them as they are by then.
 * 'unknown': the processor did not answer in time, and only our own records can be shown.
 */
export async function refreshPendingPayment(knex: Knex, config: Readonly<Config>, p: Processor, invoiceId: number, call: CallOptions = {}): Promise<SessionState> {
  // Pending, or declined on a session Stripe keeps open: the payer may come back from a successful
  // retry there before its webhook does.
  const pending = await mayTakePayment(knex<PaymentRow>('payments').where({ invoice_id: invoiceId })).whereNotNull('checkout_session_id').orderBy('id', 'desc').first();
  if (!pending) return 'none';
  let session;
  try {
    session = await withinTimeout(call, p.stripe.checkout.sessions.retrieve(pending.checkout_session_id!, { expand: ['payment_intent'] }, call));
  } catch (e) {
    logger.warn('could not ask the processor about a pending payment', { paymentId: pending.public_id, err: (e as Error).message });
    return 'unknown';
  }
  const r = await knex.transaction((tx) => applyObservation(tx, config, pending, observeSession(session, 'return-page')));
  if (r.kind === 'applied') return 'ended';
  if (pending.status === 'failed') return 'none'; // the retry on the declined session has not paid
  if (session.status === 'complete') return 'settling';
  return session.status === 'open' ? 'open' : 'ended';
}

