import { downloadCsvLine, fenToDecimal } from './csv';
import type { ItemView, RunRow } from './run-store';

/**
 * The CSV export finance downloads: ids as the API shows them, amounts in yuan ("1050.00"), every
 * cell neutralised against formula injection (case numbers and notes come from outside).
 */
const HEADER = [
  'item_id', 'run_id', 'court_code', 'date', 'kind', 'status', 'grade', 'case_number', 'invoice_id', 'payment_id', 'refund_id',
  'balance_transaction_id', 'processor_object_id', 'payment_intent_id', 'payout_id', 'expected_yuan', 'actual_yuan', 'currency', 'detail', 'resolution_note',
];

const yuan = (fen: number | null) => (fen === null || fen === undefined ? '' : fenToDecimal(Number(fen)));

export function itemsCsvHeader(): string {
  return downloadCsvLine(HEADER);
}

export function itemCsvLine(i: ItemView, run: RunRow): string {
  return downloadCsvLine([
    i.public_id, run.public_id, i.court_code, run.business_date, i.kind, i.status, i.grade ?? '', i.case_number ?? '', i.invoice_public_id ?? '',
    i.payment_public_id ?? '', i.refund_public_id ?? '', i.balance_transaction_id ?? '', i.processor_object_id ?? '', i.payment_intent_id ?? '',
    i.payout_id ?? '', yuan(i.expected_amount), yuan(i.actual_amount), i.currency?.toUpperCase() ?? '', i.detail, i.resolution_note ?? '',
  ]);
}
