import type { Knex } from 'knex';

/**
 * Refunds (maker-checker, reserved before the processor is called) and case outcomes (which
 * propose the refunds the law requires). A refund's history is its audit trail.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table payments add column refunded_amount bigint not null default 0 check (refunded_amount >= 0);
    alter table payments add constraint payments_refunded_within_settled check (refunded_amount <= settled_amount);
    comment on column payments.refunded_amount is 'Refunds the processor has paid back (fen), kept current with each refund settling or failing';

    create table case_outcomes (
      id bigint generated always as identity primary key,
      case_id bigint not null references cases(id),
      outcome text not null check (outcome in ('withdrawn', 'mediated', 'not_accepted', 'dismissed', 'remanded', 'claim_reduced', 'judged', 'transferred')),
      effective_date date not null,
      details jsonb not null default '{}',
      recorded_by text not null,
      created_at timestamptz not null default now()
    );
    create index case_outcomes_case_idx on case_outcomes (case_id);

    create table refunds (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      payment_id bigint not null references payments(id),
      invoice_id bigint not null references invoices(id),
      court_code text not null references courts(code),
      amount bigint not null check (amount > 0),
      currency char(3) not null default 'CNY' check (currency = 'CNY'),
      reason_code text not null,
      note text,
      origin text not null default 'clerk' check (origin in ('clerk', 'statutory')),
      case_outcome_id bigint references case_outcomes(id),
      status text not null default 'requested' check (status in ('requested', 'approved', 'submitted', 'succeeded', 'failed', 'rejected', 'cancelled')),
      requested_by text not null,
      approved_by text,
      approved_at timestamptz,
      decided_note text,
      rejected_by text,
      rejected_at timestamptz,
      cancelled_by text,
      cancelled_at timestamptz,
      processor_refund_id text unique,
      processor_status text,
      submitted_at timestamptz,
      succeeded_at timestamptz,
      failed_at timestamptz,
      failure_reason text,
      due_date date,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (approved_by is null or approved_by <> requested_by)
    );
    create index refunds_payment_idx on refunds (payment_id);
    create index refunds_court_status_idx on refunds (court_code, status, id);
    create index refunds_open_due_idx on refunds (due_date) where status not in ('succeeded', 'rejected', 'cancelled', 'failed');
    comment on table refunds is 'Money going back for one payment; the row reserves its amount from the moment it is requested';
    comment on column refunds.due_date is 'Statutory refunds: 15 days after the outcome takes effect (Measures Art. 53)';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists refunds;
    drop table if exists case_outcomes;
    alter table payments drop constraint if exists payments_refunded_within_settled;
    alter table payments drop column if exists refunded_amount;
  `);
}
