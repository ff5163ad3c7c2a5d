import type { Knex } from 'knex';

/**
 * Idempotency records expire and never hold a secret:
 * - an index on created_at for the hourly purge of records older than idempotency.ttlHours;
 * - answers stored before this version that carry a callback signing secret (registering an
 *   endpoint, rotating its secret) keep their status and body with `secret` null, as a replay now
 *   answers them. The secrets themselves live on in callback_endpoint_secrets; down cannot restore
 *   them here, and should not.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index if not exists idempotency_keys_created_idx on idempotency_keys (created_at);
    update idempotency_keys set response_body = jsonb_set(response_body, '{secret}', 'null'::jsonb)
     where jsonb_typeof(response_body) = 'object' and response_body->'secret' is not null and response_body->'secret' <> 'null'::jsonb;
    comment on column idempotency_keys.status is 'in_progress: claimed by a request whose transaction has not committed (this version claims inside the write''s transaction, so a committed in_progress row is one an earlier version left, taken over by the next retry); completed: the answer is stored';
    comment on column idempotency_keys.response_body is 'The answer replayed for the key, with fields shown once (signing secrets) null';
    comment on column idempotency_keys.locked_at is 'When the claim was made or taken over';
    comment on column idempotency_keys.created_at is 'When the record began; purged idempotency.ttlHours after (the key then runs afresh)';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists idempotency_keys_created_idx;`);
}
