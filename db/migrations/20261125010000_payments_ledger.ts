import type { Knex } from 'knex';

/**
 * Payments, the processor-event inbox, the double-entry ledger, and the sandbox processor's store.
 * Ledger transactions must sum to zero (a deferred constraint trigger checks at commit) and are
 * never updated or deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table payments (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      invoice_id bigint not null references invoices(id),
      court_code text not null references courts(code),
      amount bigint not null check (amount > 0 and amount <= 10000000000000),
      currency char(3) not null default 'CNY' check (currency = 'CNY'),
      status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'canceled', 'expired', 'disputed')),
      processor text not null check (processor in ('stripe', 'sandbox')),
      checkout_session_id text unique,
      checkout_url text,
      payment_intent_id text unique,
      charge_id text,
      payment_method_type text,
      expires_at timestamptz not null,
      settled_amount bigint not null default 0 check (settled_amount >= 0),
      processor_fee bigint check (processor_fee >= 0),
      dispute_status text check (dispute_status in ('open', 'won', 'lost')),
      dispute_id text,
      flagged_at timestamptz,
      flag_reason text,
      failure_reason text,
      settled_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index payments_invoice_idx on payments (invoice_id);
    create index payments_pending_idx on payments (created_at) where status = 'pending';
    -- One open checkout per invoice: a new attempt expires the old one first.
    create unique index payments_one_pending_per_invoice on payments (invoice_id) where status = 'pending';
    comment on column payments.settled_amount is 'Money the processor settled for this payment (fen); 0 until succeeded';
    comment on column payments.flag_reason is 'Set when an event disagreed with what we asked for (amount, currency): finance must look';

    create table processor_events (
      id bigint generated always as identity primary key,
      event_id text not null unique,
      type text not null,
      object_id text,
      livemode boolean not null default false,
      payload jsonb not null,
      status text not null check (status in ('processed', 'ignored', 'flagged', 'failed')),
      note text,
      attempts integer not null default 1,
      last_error text,
      received_at timestamptz not null default now(),
      processed_at timestamptz
    );
    create index processor_events_failed_idx on processor_events (received_at) where status = 'failed';
    comment on table processor_events is 'The inbox: every Stripe event once, keyed by its event id, with its processing outcome';

    create table ledger_transactions (
      id bigint generated always as identity primary key,
      kind text not null,
      court_code text not null references courts(code),
      invoice_id bigint references invoices(id),
      payment_id bigint references payments(id),
      source text not null,
      description text,
      created_at timestamptz not null default now()
    );
    create index ledger_transactions_invoice_idx on ledger_transactions (invoice_id);
    create index ledger_transactions_payment_idx on ledger_transactions (payment_id);

    create table ledger_entries (
      id bigint generated always as identity primary key,
      transaction_id bigint not null references ledger_transactions(id),
      account text not null check (account in ('processor_clearing', 'fee_income', 'processor_fees', 'disputed_funds', 'refunds_payable')),
      court_code text not null references courts(code),
      invoice_id bigint references invoices(id),
      amount bigint not null check (amount <> 0),
      currency char(3) not null default 'CNY' check (currency = 'CNY'),
      created_at timestamptz not null default now()
    );
    create index ledger_entries_tx_idx on ledger_entries (transaction_id);
    create index ledger_entries_account_idx on ledger_entries (court_code, account);
    comment on column ledger_entries.amount is 'Signed fen: debit positive, credit negative; each transaction sums to zero';

    create function ledger_transaction_balances() returns trigger language plpgsql as $$
    declare total bigint;
    begin
      select coalesce(sum(amount), 0) into total from ledger_entries where transaction_id = new.transaction_id;
      if total <> 0 then
        raise exception 'ledger transaction % does not balance (sum %)', new.transaction_id, total using errcode = '23514';
      end if;
      return null;
    end $$;
    create constraint trigger ledger_entries_balance after insert on ledger_entries
      deferrable initially deferred for each row execute function ledger_transaction_balances();
    create trigger ledger_entries_append_only before update or delete on ledger_entries
      for each row execute function reject_change();
    create trigger ledger_transactions_append_only before update or delete on ledger_transactions
      for each row execute function reject_change();

    create table sandbox_objects (
      id text primary key,
      type text not null,
      data jsonb not null,
      idempotency_key text unique,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    comment on table sandbox_objects is 'The local sandbox processor (development only): its Stripe-shaped objects';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists sandbox_objects;
    drop table if exists ledger_entries;
    drop function if exists ledger_transaction_balances();
    drop table if exists ledger_transactions;
    drop table if exists processor_events;
    drop table if exists payments;
  `);
}
