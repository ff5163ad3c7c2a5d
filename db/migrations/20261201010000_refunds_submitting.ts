import type { Knex } from 'knex';

/**
 * A refund is `submitting` from the moment we may call the processor: committed on its own before
 * the call, so a crash mid-submission can never leave a refund the processor made looking like one
 * a clerk may still cancel. Only the processor's answer, its webhook or the sweep moves it on.
 *
 * Refunds still `approved` when this runs were approved under the version that called the
 * processor while the row said approved: any of them may have reached the processor, so they become
 * `submitting` (with an audit row each) and the sweep re-sends them with the same idempotency key,
 * which makes each one exactly once. The open-refund index lists only closed statuses, so it
 * already covers `submitting`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table refunds drop constraint if exists refunds_status_check;
    alter table refunds add constraint refunds_status_check
      check (status in ('requested', 'approved', 'submitting', 'submitted', 'succeeded', 'failed', 'rejected', 'cancelled'));
    comment on column refunds.status is 'requested → approved → submitting (committed before the processor is called; may have reached it, never cancellable) → submitted (sent, answer pending or unknown) → succeeded | failed; or rejected | cancelled before submitting';
    comment on column refunds.submitted_at is 'When the submission to the processor began (the submitting commit)';

    with moved as (
      update refunds set status = 'submitting', submitted_at = coalesce(submitted_at, now()), updated_at = now()
       where status = 'approved'
       returning public_id
    )
    insert into audit_events (actor_type, actor_id, action, entity_type, entity_id, after)
    select 'system', 'migration:20261201010000', 'refund.submitting', 'refund', public_id,
           jsonb_build_object('id', public_id, 'status', 'submitting', 'why', 'approved before submitting existed: it may have reached the processor')
      from moved;
  `);
}

/** Back to the version before: a refund being submitted was `approved` there (its sweep re-sends those too). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    update refunds set status = 'approved', updated_at = now() where status = 'submitting';
    alter table refunds drop constraint if exists refunds_status_check;
    alter table refunds add constraint refunds_status_check
      check (status in ('requested', 'approved', 'submitted', 'succeeded', 'failed', 'rejected', 'cancelled'));
    comment on column refunds.status is null;
    comment on column refunds.submitted_at is null;
  `);
}
