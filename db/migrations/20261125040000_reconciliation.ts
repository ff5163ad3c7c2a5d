import type { Knex } from 'knex';

/**
 * Reconciliation: one run per court-day (unique), its discrepancy items, and the processor-fee
 * postings it made (unique per court-day and sequence, so a rerun or a second instance can never
 * post the same fees twice). The processor's lines themselves are staged per run in scratch
 * tables (reconciliation_stage_<run>) that live only while the run does.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table reconciliation_runs (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      court_code text not null references courts(code),
      business_date date not null,
      status text not null check (status in ('running', 'completed', 'failed')),
      source text not null check (source in ('list', 'report')),
      attempt integer not null default 1 check (attempt > 0),
      started_by text not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      failure_reason text,
      totals jsonb,
      checks jsonb not null default '{}',
      created_at timestamptz not null default now(),
      unique (court_code, business_date)
    );
    create index reconciliation_runs_date_idx on reconciliation_runs (business_date, id);
    comment on table reconciliation_runs is 'One run per court-day; a rerun reuses the row (attempt + 1) and replaces its items';
    comment on column reconciliation_runs.status is 'running while a run holds the court-day (claimed atomically); failed runs show no items';
    comment on column reconciliation_runs.totals is 'Fen: grossCollected, refunded, processorFees, net, clearing, payouts[] — set when completed';

    create table reconciliation_items (
      id bigint generated always as identity primary key,
      public_id text not null unique,
      run_id bigint not null references reconciliation_runs(id),
      court_code text not null references courts(code),
      kind text not null check (kind in ('missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch', 'duplicate_payment',
        'payout_mismatch', 'paid_after_case_closed', 'refund_overdue', 'unpaid_overdue', 'case_record_mismatch')),
      item_key text not null,
      status text not null default 'open' check (status in ('open', 'healed', 'resolved')),
      grade text check (grade in ('late', 'missing')),
      balance_transaction_id text,
      processor_object_id text,
      payment_intent_id text,
      payout_id text,
      payment_id bigint references payments(id),
      refund_id bigint references refunds(id),
      invoice_id bigint references invoices(id),
      case_number text,
      expected_amount bigint,
      actual_amount bigint,
      currency text,
      detail text not null,
      resolution_note text,
      resolved_by text,
      resolved_at timestamptz,
      created_at timestamptz not null default now(),
      unique (run_id, kind, item_key),
      check ((status = 'resolved') = (resolved_at is not null))
    );
    comment on table reconciliation_items is 'One discrepancy found by a run; a rerun replaces the open ones and keeps the resolved ones';
    comment on column reconciliation_items.item_key is 'What the discrepancy is about (a balance transaction, payment, refund, invoice or payout id): one item per kind and key';
    comment on column reconciliation_items.grade is 'missing_at_processor only: late within the grace days, missing after';

    create table reconciliation_fee_postings (
      court_code text not null references courts(code),
      business_date date not null,
      seq integer not null check (seq > 0),
      amount bigint not null check (amount <> 0),
      cumulative bigint not null,
      ledger_transaction_id bigint not null references ledger_transactions(id),
      run_id bigint not null references reconciliation_runs(id),
      created_at timestamptz not null default now(),
      primary key (court_code, business_date, seq)
    );
    comment on table reconciliation_fee_postings is 'Processor fees posted to the ledger per court-day: a rerun posts only a difference, and the key refuses a second posting of the same step';

    -- Matching a processor line by its charge id when neither our id nor the PaymentIntent id is on it.
    create index if not exists payments_charge_idx on payments (charge_id);
    -- What a run healed (it posts with source reconciliation:<run>): found again on a rerun without scanning the ledger.
    create index if not exists ledger_transactions_reconciliation_source_idx on ledger_transactions (source) where source like 'reconciliation:%';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop index if exists ledger_transactions_reconciliation_source_idx;
    drop index if exists payments_charge_idx;
    drop table if exists reconciliation_fee_postings;
    drop table if exists reconciliation_items;
    drop table if exists reconciliation_runs;
  `);
}
