import type { Queryable } from '../db';
import type { RemissionRow } from './present';

/** Each invoice's remissions, oldest first. */
export async function remissionsOf(db: Queryable, invoiceIds: number[]): Promise<Map<number, RemissionRow[]>> {
  const rows = invoiceIds.length ? await db<RemissionRow>('invoice_remissions').whereIn('invoice_id', invoiceIds).orderBy('id') : [];
  const out = new Map<number, RemissionRow[]>();
  for (const r of rows) out.set(r.invoice_id, [...(out.get(r.invoice_id) ?? []), r]);
  return out;
}
