import type { Knex } from 'knex';

/**
 * Reconciliation that agrees across day boundaries and counts every processor line:
 * - ledger_transactions.refund_id: the refund a posting belongs to (refund_settled, refund_returned),
 *   so a refund's line is matched to our ledger by key, not by the text of a description. Existing
 *   rows are backfilled from the description those postings always carried ("refund rf_…[ returned]").
 * - An account-level run (scope 'account', no court): the processor account is shared by every court,
 *   so its day's lines are counted there in full, and a line no court can claim (no metadata of ours,
 *   no payment or refund of ours) is reported there as unattributed_line. Only all-courts keys see it.
 * - reconciliation_other_day_lines: the lines a court-day's run matched to a payment or refund we
 *   settled on another court-day (a webhook after midnight, a heal). The other day's run finds them
 *   here, so neither day reports the payment as missing at the processor.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table ledger_transactions add column refund_id bigint references refunds(id);
    comment on column ledger_transactions.refund_id is 'The refund this posting belongs to (refund_settled, refund_returned); null for every other kind';
    create index ledger_transactions_refund_idx on ledger_transactions (refund_id) where refund_id is not null;

    alter table reconciliation_runs add column scope text not null default 'court' check (scope in ('court', 'account'));
    alter table reconciliation_runs alter column court_code drop not null;
    alter table reconciliation_runs add constraint reconciliation_runs_scope_court_check check ((scope = 'court') = (court_code is not null));
    create unique index reconciliation_runs_account_day_idx on reconciliation_runs (business_date) where scope = 'account';
    comment on column reconciliation_runs.scope is 'court: one court-day (court_code set); account: the whole processor account''s day, every line counted, the unattributed ones reported (no court; all-courts keys only)';

    alter table reconciliation_items alter column court_code drop not null;
    alter table reconciliation_items drop constraint if exists reconciliation_items_kind_check;
    alter table reconciliation_items add constraint reconciliation_items_kind_check check (kind in ('missing_in_ledger', 'missing_at_processor', 'amount_mismatch',
      'currency_mismatch', 'duplicate_payment', 'payout_mismatch', 'paid_after_case_closed', 'refund_overdue', 'unpaid_overdue', 'case_record_mismatch', 'unattributed_line'));
    comment on column reconciliation_items.court_code is 'The court of the run; null only on an account-level run''s items';

    create table reconciliation_other_day_lines (
      run_id bigint not null references reconciliation_runs(id) on delete cascade,
      balance_transaction_id text not null,
      line_created_at timestamptz not null,
      payment_id bigint references payments(id),
      refund_id bigint references refunds(id),
      primary key (run_id, balance_transaction_id),
      check ((payment_id is null) <> (refund_id is null))
    );
    create index reconciliation_other_day_lines_payment_idx on reconciliation_other_day_lines (payment_id) where payment_id is not null;
    create index reconciliation_other_day_lines_refund_idx on reconciliation_other_day_lines (refund_id) where refund_id is not null;
    comment on table reconciliation_other_day_lines is 'A processor line of the run''s court-day whose payment (or refund) we settled on another court-day; replaced on every rerun';
    comment on column reconciliation_other_day_lines.payment_id is 'The payment of a charge line (refund_id null)';
    comment on column reconciliation_other_day_lines.refund_id is 'The refund of a refund line (payment_id null)';
  `);
  await backfillLedgerRefunds(knex);
}

/**
 * Refund postings written before the column get their refund from the description they always
 * carried ("refund rf_…", "refund rf_… returned"); the append-only trigger is lifted for this one
 * statement only, inside the migration's transaction. Returns how many rows were given a refund.
 */
export async function backfillLedgerRefunds(knex: Knex): Promise<number> {
  return knex.transaction(async (tx) => {
    await tx.raw('alter table ledger_transactions disable trigger ledger_transactions_append_only');
    const { rowCount } = await tx.raw(
      `update ledger_transactions lt set refund_id = r.id
         from refunds r
        where lt.kind in ('refund_settled', 'refund_returned') and lt.refund_id is null
          and r.public_id = substring(lt.description from '^refund (\\S+)')`,
    );
    await tx.raw('alter table ledger_transactions enable trigger ledger_transactions_append_only');
    return rowCount ?? 0;
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists reconciliation_other_day_lines;
    delete from reconciliation_items where court_code is null;
    alter table reconciliation_items drop constraint if exists reconciliation_items_kind_check;
    alter table reconciliation_items add constraint reconciliation_items_kind_check check (kind in ('missing_in_ledger', 'missing_at_processor', 'amount_mismatch',
      'currency_mismatch', 'duplicate_payment', 'payout_mismatch', 'paid_after_case_closed', 'refund_overdue', 'unpaid_overdue', 'case_record_mismatch'));
    alter table reconciliation_items alter column court_code set not null;
    comment on column reconciliation_items.court_code is null;
    delete from reconciliation_runs where scope = 'account';
    drop index if exists reconciliation_runs_account_day_idx;
    alter table reconciliation_runs drop constraint if exists reconciliation_runs_scope_court_check;
    alter table reconciliation_runs alter column court_code set not null;
    alter table reconciliation_runs drop column scope;
    drop index if exists ledger_transactions_refund_idx;
    alter table ledger_transactions drop column refund_id;
  `);
}
