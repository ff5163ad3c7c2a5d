import type { Knex } from 'knex';

/**
 * Callbacks to case systems: endpoints with their signing secrets, the outbox of messages owed to
 * them (written in the transaction of the change), every delivery attempt, and the once-per-invoice
 * record of the overdue notice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table callback_endpoints (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      url text not null,
      description text,
      all_courts boolean not null default false,
      court_codes text[] not null default '{}',
      event_types text[] not null check (cardinality(event_types) > 0),
      enabled boolean not null default true,
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (all_courts or cardinality(court_codes) > 0)
    );
    create index callback_endpoints_enabled_idx on callback_endpoints (id) where enabled;
    comment on table callback_endpoints is 'A case system''s URL that is told about fee changes in its courts';
    comment on column callback_endpoints.court_codes is 'The courts whose changes it receives (ignored when all_courts)';

    create table callback_endpoint_secrets (
      id bigint generated always as identity primary key,
      endpoint_id bigint not null references callback_endpoints(id) on delete cascade,
      secret text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz
    );
    create index callback_endpoint_secrets_endpoint_idx on callback_endpoint_secrets (endpoint_id);
    comment on table callback_endpoint_secrets is 'HMAC signing secrets, stored in plain text because we must sign with them; shown to the admin once';
    comment on column callback_endpoint_secrets.expires_at is 'Null: the current secret. Set on rotation: the old secret signs alongside the new one until then';

    create table callback_messages (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      endpoint_id bigint not null references callback_endpoints(id),
      invoice_id bigint not null references invoices(id),
      type text not null,
      payload text not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
      attempts integer not null default 0 check (attempts >= 0),
      retries integer not null default 0 check (retries >= 0),
      next_attempt_at timestamptz not null default now(),
      last_status_code integer,
      last_error text,
      delivered_at timestamptz,
      dead_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index callback_messages_due_idx on callback_messages (next_attempt_at, id) where status = 'pending';
    create index callback_messages_order_idx on callback_messages (endpoint_id, invoice_id, id) where status = 'pending';
    create index callback_messages_endpoint_idx on callback_messages (endpoint_id, status, id);
    comment on table callback_messages is 'The outbox: one message per endpoint per change, inserted in the transaction of the change';
    comment on column callback_messages.payload is 'The exact JSON body sent (and signed) on every attempt: data as it was at enqueue time';
    comment on column callback_messages.retries is 'Failed attempts since queued or last replayed: picks the next wait from the retry schedule';
    comment on column callback_messages.next_attempt_at is 'When it is due; a claim pushes it past the send timeout, so a crashed sender''s message comes due again';

    create table callback_attempts (
      id bigint generated always as identity primary key,
      message_id bigint not null references callback_messages(id),
      attempt integer not null check (attempt > 0),
      started_at timestamptz not null,
      status_code integer,
      latency_ms integer not null check (latency_ms >= 0),
      error text,
      delivered boolean not null,
      unique (message_id, attempt)
    );
    comment on table callback_attempts is 'Every delivery attempt: time, HTTP status, latency and error';

    create table callback_overdue_notices (
      invoice_id bigint primary key references invoices(id),
      court_day date not null,
      created_at timestamptz not null default now()
    );
    comment on table callback_overdue_notices is 'invoice.overdue is emitted once per invoice: the primary key makes reruns of the daily check no-ops';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists callback_overdue_notices;
    drop table if exists callback_attempts;
    drop table if exists callback_messages;
    drop table if exists callback_endpoint_secrets;
    drop table if exists callback_endpoints;
  `);
}
