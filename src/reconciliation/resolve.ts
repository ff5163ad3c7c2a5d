import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import type { Principal } from '../auth/principal';
import { ConflictError, NotFoundError } from '../shared/errors';
import { assertCanSeeRunCourt, itemQuery, presentItem, type ItemRow, type ItemView } from './run-store';

/** Finance marks a discrepancy resolved with a note; the item is locked, and the change audited in the same transaction. */
export async function resolveItem(tx: Knex.Transaction, principal: Principal, itemId: string, note: string) {
  const item = (await tx<ItemRow>('reconciliation_items').where({ public_id: itemId }).forUpdate().first()) as ItemRow | undefined;
  if (!item) throw new NotFoundError(`reconciliation item ${itemId}`);
  assertCanSeeRunCourt(principal, item.court_code, `reconciliation item ${itemId}`);
  if (item.status === 'resolved') throw new ConflictError('already_resolved', `reconciliation item ${itemId} was resolved already`);
  await tx('reconciliation_items').where({ id: item.id }).update({ status: 'resolved', resolution_note: note, resolved_by: `api_key:${principal.keyId}`, resolved_at: new Date() });
  const view = presentItem((await itemQuery(tx).where('it.id', item.id).first()) as ItemView);
  await recordAudit(tx, { action: 'reconciliation_item.resolved', entityType: 'reconciliation_item', entityId: itemId, before: { status: item.status }, after: { status: 'resolved', note } });
  return view;
}
