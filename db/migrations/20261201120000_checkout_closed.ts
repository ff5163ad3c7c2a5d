import type { Knex } from 'knex';

/**
 * A declined card fails the attempt (payment_intent.payment_failed) but Stripe keeps its Checkout
 * Session open for another try, so a failed attempt may still take the payer's money. The pay
 * button treats such an attempt like a pending one (reuses or retires its session, payments/
 * checkout.ts) until we know its session can take no more: this column records when we learned it.
 *
 * checkout_closed_at: when the attempt's Checkout Session was known to take no (more) payment —
 * expired at Stripe (on its own, or by us when the attempt was retired), or completed with its
 * payment settled or finally failed (checkout.session.async_payment_failed). A session completed
 * by an asynchronous method still settling is not closed. Null: it may still be open.
 * Attempts failed by an asynchronous method before this column existed had a complete session: closed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table payments add column checkout_closed_at timestamptz;
    comment on column payments.checkout_closed_at is 'when the attempt''s Checkout Session was known to take no (more) payment: expired (at Stripe, or retired by us), or complete and paid or finally failed; null: it may still be open (a declined attempt''s session stays open at Stripe)';
    update payments set checkout_closed_at = updated_at where status = 'failed' and failure_reason = 'asynchronous payment failed';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table payments drop column checkout_closed_at');
}
