import type { Knex } from 'knex';

/**
 * Foundation: courts, cases, invoices (with remissions), API keys, audit events, idempotency keys.
 * Money is bigint fen with CHECKs; statuses are CHECKed; the audit trail is append-only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table courts (
      code text primary key,
      name text not null,
      level text not null check (level in ('high', 'intermediate', 'basic')),
      province text not null,
      designation text not null unique,
      time_zone text not null default 'Asia/Shanghai',
      active boolean not null default true,
      updated_at timestamptz not null default now()
    );
    comment on table courts is 'Courts of the province, applied from config at start-up';
    comment on column courts.designation is 'How the court writes itself in case numbers, e.g. 晋0105';

    create table api_keys (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      name text not null check (length(name) between 1 and 200),
      role text not null check (role in ('case_system', 'clerk', 'approver', 'finance', 'admin')),
      all_courts boolean not null default false,
      court_codes text[] not null default '{}',
      key_hash text not null unique,
      key_prefix text not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      last_used_at timestamptz,
      check (all_courts or cardinality(court_codes) > 0)
    );
    comment on column api_keys.key_hash is 'sha256 of the whole key; the key itself is shown once and never stored';

    create table cases (
      id bigint generated always as identity primary key,
      case_number text not null unique,
      court_code text not null references courts(code),
      year smallint not null check (year between 1949 and 2999),
      designation text not null,
      type_designation text not null,
      sequence integer not null check (sequence > 0),
      case_type text not null check (case_type in ('civil', 'commercial', 'administrative', 'enforcement', 'bankruptcy', 'ip', 'labour', 'maritime', 'preservation', 'special', 'other')),
      procedure text not null default 'ordinary' check (procedure in ('ordinary', 'summary')),
      status text not null default 'open' check (status in ('open', 'withdrawn', 'mediated', 'judged', 'dismissed', 'not_accepted', 'remanded', 'transferred', 'closed')),
      title text,
      parties jsonb not null default '[]',
      outcome_date date,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index cases_court_idx on cases (court_code);
    comment on column cases.case_number is 'Canonical form: half-width parentheses, e.g. (2026)晋0105民初1234号';

    create table invoices (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      case_id bigint not null references cases(id),
      court_code text not null references courts(code),
      fee_kind text not null,
      stage text not null default 'first_instance' check (stage in ('first_instance', 'appeal', 'retrial')),
      payer jsonb not null,
      basis jsonb not null default '{}',
      schedule_version text,
      breakdown jsonb not null default '[]',
      statutory_amount bigint not null check (statutory_amount between 0 and 10000000000000),
      amount_due bigint not null check (amount_due between 0 and 10000000000000),
      paid_amount bigint not null default 0 check (paid_amount >= 0),
      refunded_amount bigint not null default 0 check (refunded_amount between 0 and paid_amount),
      currency char(3) not null default 'CNY' check (currency = 'CNY'),
      status text not null default 'unpaid' check (status in ('unpaid', 'partially_paid', 'paid', 'overpaid', 'partially_refunded', 'refunded', 'cancelled')),
      notice_date date not null,
      due_date date not null check (due_date >= notice_date),
      payment_token text not null unique,
      cancelled_at timestamptz,
      cancel_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (amount_due <= statutory_amount)
    );
    create index invoices_case_idx on invoices (case_id);
    create index invoices_court_id_idx on invoices (court_code, id);
    comment on column invoices.statutory_amount is 'What the fee schedule says, in fen; stays visible beside amount_due';
    comment on column invoices.amount_due is 'What the payer owes after deferral/reduction/exemption, in fen';
    comment on column invoices.paid_amount is 'Settled money, kept current in the same transaction as each movement';

    create table invoice_remissions (
      id bigint generated always as identity primary key,
      invoice_id bigint not null references invoices(id),
      kind text not null check (kind in ('deferral', 'reduction', 'exemption')),
      decision_ref text not null check (length(decision_ref) between 1 and 200),
      decided_by text not null check (length(decided_by) between 1 and 200),
      decided_at date not null,
      reduction_percent smallint check (reduction_percent between 30 and 99),
      new_due_date date,
      amount_due_before bigint not null,
      amount_due_after bigint not null check (amount_due_after >= 0),
      created_at timestamptz not null default now(),
      check ((kind = 'reduction') = (reduction_percent is not null)),
      check ((kind = 'deferral') = (new_due_date is not null))
    );
    create index invoice_remissions_invoice_idx on invoice_remissions (invoice_id);
    comment on table invoice_remissions is '缓交 / 减交 / 免交 decisions (Measures Arts. 44-51)';

    create table audit_events (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null default now(),
      actor_type text not null,
      actor_id text not null,
      action text not null,
      entity_type text not null,
      entity_id text not null,
      request_id text,
      before jsonb,
      after jsonb
    );
    create index audit_events_entity_idx on audit_events (entity_type, entity_id);
    comment on table audit_events is 'Who did what, when, from which request. Append-only: a trigger rejects UPDATE and DELETE.';

    create function reject_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only', tg_table_name using errcode = 'P0001';
    end $$;
    create trigger audit_events_append_only before update or delete on audit_events
      for each row execute function reject_change();

    create table idempotency_keys (
      id bigint generated always as identity primary key,
      principal_id text not null,
      key text not null check (length(key) between 1 and 255),
      method text not null,
      path text not null,
      request_hash text not null,
      status text not null default 'in_progress' check (status in ('in_progress', 'completed')),
      response_status smallint,
      response_body jsonb,
      locked_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      unique (principal_id, key)
    );
    comment on table idempotency_keys is 'Idempotency-Key replay: one row per principal and key, unique-constrained';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists idempotency_keys;
    drop table if exists audit_events;
    drop function if exists reject_change();
    drop table if exists invoice_remissions;
    drop table if exists invoices;
    drop table if exists cases;
    drop table if exists api_keys;
    drop table if exists courts;
  `);
}
