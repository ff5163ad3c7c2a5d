import type { Knex } from 'knex';

/**
 * The per-invoice order check of callback delivery (src/callbacks/deliver.ts), on an index the
 * planner cannot mistake. With `where status = 'pending'`, the check's `status = 'pending'` was
 * also an index condition of callback_messages_endpoint_idx (endpoint_id, status, id): on a table
 * not yet analysed (a burst right after a deploy, or the bench's fresh database) that index looked
 * as selective, and each candidate then walked its endpoint's whole backlog — 2 s per claim at 10k
 * pending. `status not in ('delivered', 'dead')` (the same rows: the status check allows only
 * three values) is no index condition for any other index, so only this one answers it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index callback_messages_chain_idx on callback_messages (endpoint_id, invoice_id, id) where status not in ('delivered', 'dead');
    drop index callback_messages_order_idx;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    create index callback_messages_order_idx on callback_messages (endpoint_id, invoice_id, id) where status = 'pending';
    drop index callback_messages_chain_idx;
  `);
}
