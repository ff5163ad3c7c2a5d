import type { Knex } from 'knex';

/**
 * Maker-checker by person (staff accounts come in 20261201090000_staff). Besides the actor (an API
 * key, or `staff:<login>` for a browser session), a refund, a remission and a reconciliation item
 * record the person who acted: the session's, or the key's owner (null for a machine's key). The
 * database refuses a checker who is the maker's person, as it already refuses the maker's key
 * (`approved_by <> requested_by`). `people` keeps each act's person as they were named then
 * ({ "<act>": { staffId, login, name } }), for the histories to show names.
 *
 * Remissions gain a status: one entered by a person waits (pending) for a second person's approval
 * before the amount due changes; a case system's (no person) is approved as it is recorded. Rows
 * recorded before are approved (they applied at once).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table refunds
      add column requested_by_staff_id bigint references staff(id),
      add column approved_by_staff_id bigint references staff(id),
      add column rejected_by_staff_id bigint references staff(id),
      add column cancelled_by_staff_id bigint references staff(id),
      add column people jsonb not null default '{}',
      add constraint refunds_approver_not_requester_person check (approved_by_staff_id is null or requested_by_staff_id is null or approved_by_staff_id <> requested_by_staff_id),
      add constraint refunds_rejecter_not_requester_person check (rejected_by_staff_id is null or requested_by_staff_id is null or rejected_by_staff_id <> requested_by_staff_id);
    comment on column refunds.requested_by_staff_id is 'the person who requested (session, or the key''s owner); null for a machine key or a statutory refund';
    comment on column refunds.approved_by_staff_id is 'the person who approved; never the requesting person (checked here and in refunds/decide.ts)';
    comment on column refunds.rejected_by_staff_id is 'the person who rejected; never the requesting person';
    comment on column refunds.cancelled_by_staff_id is 'the person who cancelled (the requester themself may)';
    comment on column refunds.people is 'each act''s person as named when they acted: { requested | approved | rejected | cancelled: { staffId, login, name } }';

    alter table invoice_remissions
      add column public_id text unique default ('rem_' || substr(md5(random()::text || clock_timestamp()::text), 1, 20)),
      add column status text not null default 'approved' check (status in ('pending', 'approved', 'rejected')),
      add column entered_by text,
      add column entered_by_staff_id bigint references staff(id),
      add column approved_by text,
      add column approved_by_staff_id bigint references staff(id),
      add column approved_at timestamptz,
      add column rejected_by text,
      add column rejected_by_staff_id bigint references staff(id),
      add column rejected_at timestamptz,
      add column decision_note text,
      add column people jsonb not null default '{}',
      add constraint invoice_remissions_approver_not_enterer check (approved_by is null or entered_by is null or approved_by <> entered_by),
      add constraint invoice_remissions_approver_not_enterer_person check (approved_by_staff_id is null or entered_by_staff_id is null or approved_by_staff_id <> entered_by_staff_id),
      add constraint invoice_remissions_rejecter_not_enterer_person check (rejected_by_staff_id is null or entered_by_staff_id is null or rejected_by_staff_id <> entered_by_staff_id),
      add constraint invoice_remissions_rejected_when check ((status = 'rejected') = (rejected_at is not null));
    alter table invoice_remissions alter column public_id set not null;
    create index invoice_remissions_pending_idx on invoice_remissions (id) where status = 'pending';
    comment on column invoice_remissions.public_id is 'rem_…: the remission''s id in the API (approve / reject); the default fills rows recorded before, the service sets its own';
    comment on column invoice_remissions.status is 'pending: entered by a person, awaiting a second person (the amount due is unchanged); approved: applied to the invoice; rejected: never applied';
    comment on column invoice_remissions.entered_by is 'the actor who recorded it (api_key:key_… or staff:<login>); null for rows recorded before people were known';
    comment on column invoice_remissions.entered_by_staff_id is 'the person who entered it; null for a case system''s key (its decision applies at once)';
    comment on column invoice_remissions.approved_by is 'the second actor who approved a pending one; null when it applied as recorded (a case system''s decision)';
    comment on column invoice_remissions.approved_by_staff_id is 'the second person who approved it; never the person who entered it';
    comment on column invoice_remissions.amount_due_before is 'the amount due when it applied (for a pending one: when it was entered; set again on approval)';
    comment on column invoice_remissions.people is 'each act''s person as named when they acted: { entered | approved | rejected: { staffId, login, name } }';

    alter table reconciliation_items
      add column resolved_by_staff_id bigint references staff(id),
      add column proposed_by text,
      add column proposed_by_staff_id bigint references staff(id),
      add column proposed_note text,
      add column proposed_at timestamptz,
      add column people jsonb not null default '{}',
      add constraint reconciliation_items_confirmer_not_proposer check (proposed_by_staff_id is null or resolved_by_staff_id is null or proposed_by_staff_id <> resolved_by_staff_id),
      add constraint reconciliation_items_proposal_whole check ((proposed_at is null) = (proposed_by is null));
    comment on column reconciliation_items.resolved_by_staff_id is 'the person who resolved it (or confirmed the proposal); null for a machine key or a run';
    comment on column reconciliation_items.proposed_by is 'over reconciliation.secondPersonAboveFen: the first person''s resolution, awaiting a second person''s confirmation (the item stays open)';
    comment on column reconciliation_items.proposed_by_staff_id is 'the proposing person; never the one who confirms';
    comment on column reconciliation_items.people is 'each act''s person as named when they acted: { proposed | resolved: { staffId, login, name } }';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table reconciliation_items
      drop constraint if exists reconciliation_items_proposal_whole,
      drop constraint if exists reconciliation_items_confirmer_not_proposer,
      drop column if exists people, drop column if exists proposed_at, drop column if exists proposed_note,
      drop column if exists proposed_by_staff_id, drop column if exists proposed_by, drop column if exists resolved_by_staff_id;
    drop index if exists invoice_remissions_pending_idx;
    alter table invoice_remissions
      drop constraint if exists invoice_remissions_rejected_when,
      drop constraint if exists invoice_remissions_rejecter_not_enterer_person,
      drop constraint if exists invoice_remissions_approver_not_enterer_person,
      drop constraint if exists invoice_remissions_approver_not_enterer,
      drop column if exists people, drop column if exists decision_note, drop column if exists rejected_at, drop column if exists rejected_by_staff_id,
      drop column if exists rejected_by, drop column if exists approved_at, drop column if exists approved_by_staff_id, drop column if exists approved_by,
      drop column if exists entered_by_staff_id, drop column if exists entered_by, drop column if exists status, drop column if exists public_id;
    alter table refunds
      drop constraint if exists refunds_rejecter_not_requester_person,
      drop constraint if exists refunds_approver_not_requester_person,
      drop column if exists people, drop column if exists cancelled_by_staff_id, drop column if exists rejected_by_staff_id,
      drop column if exists approved_by_staff_id, drop column if exists requested_by_staff_id;
  `);
}
