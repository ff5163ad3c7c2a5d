import type { Knex } from 'knex';

/**
 * Indexes for the reconciliation run's case-record checks, so none of them scans a court's whole
 * invoices or cases to find the few rows it reports. Each is partial on exactly the condition its
 * check asks, so it stays as small as the discrepancies it finds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- duplicate_payment: invoices holding more than is due.
    create index if not exists invoices_overpaid_idx on invoices (court_code) where paid_amount - refunded_amount > amount_due;
    -- unpaid_overdue: a court's unpaid invoices by due date.
    create index if not exists invoices_unpaid_due_idx on invoices (court_code, due_date) where status in ('unpaid', 'partially_paid');
    -- paid_after_case_closed: cases that ended without judgment (withdrawn, dismissed, transferred).
    create index if not exists cases_ended_idx on cases (id) where status in ('withdrawn', 'dismissed', 'transferred');
    -- A court-day's settled payments (the run's matching, and its checks by settlement day).
    create index if not exists payments_court_settled_idx on payments (court_code, settled_at) where settled_at is not null;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop index if exists payments_court_settled_idx;
    drop index if exists cases_ended_idx;
    drop index if exists invoices_unpaid_due_idx;
    drop index if exists invoices_overpaid_idx;
  `);
}
