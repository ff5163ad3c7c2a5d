import type { Knex } from 'knex';
import { recordAudit } from '../audit/record';
import { actorOf, isMaker, personOf } from '../auth/maker-checker';
import type { Principal } from '../auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import { assertCanSeeRunCourt, itemQuery, presentItem, type ItemRow, type ItemView } from './run-store';

/** What an item puts at stake: the larger of the amounts it compares (fen). */
export const amountAtStake = (i: Pick<ItemRow, 'expected_amount' | 'actual_amount'>) => Math.max(Math.abs(Number(i.expected_amount ?? 0)), Math.abs(Number(i.actual_amount ?? 0)));

type Row = ItemRow & { proposed_by: string | null; proposed_by_staff_id: number | null; proposed_note: string | null; people: Record<string, unknown> };

/**
 * Finance marks a discrepancy resolved with a note; the item is locked, and the change audited in
 * the same transaction. Over `secondPersonAboveFen` it takes two people: the first call (by a
 * person — a session or a key with an owner, never a machine's key) proposes the resolution and
 * the item stays open; a second, different person's call on the same route confirms it, with its
 * own note. The proposer can never confirm, whatever key or session they use.
 */
export async function resolveItem(tx: Knex.Transaction, principal: Principal, itemId: string, note: string, secondPersonAboveFen: number) {
  const item = (await tx<Row>('reconciliation_items').where({ public_id: itemId }).forUpdate().first()) as Row | undefined;
  if (!item) throw new NotFoundError(`reconciliation item ${itemId}`);
  assertCanSeeRunCourt(principal, item.court_code, `reconciliation item ${itemId}`);
  if (item.status === 'resolved') throw new ConflictError('already_resolved', `reconciliation item ${itemId} was resolved already`);
  const person = personOf(principal);
  const twoPeople = amountAtStake(item) > secondPersonAboveFen;
  if (twoPeople && !person) {
    throw new ForbiddenError(`an item over ${secondPersonAboveFen} fen is resolved by two people: sign in, or use a key that has an owner`, 'person_required');
  }
  const now = new Date();
  if (twoPeople && !item.proposed_by) {
    await tx('reconciliation_items').where({ id: item.id }).update({ proposed_by: actorOf(principal), proposed_by_staff_id: person!.staffId, proposed_note: note, proposed_at: now, people: JSON.stringify({ ...item.people, proposed: person }) });
    await recordAudit(tx, { action: 'reconciliation_item.resolution_proposed', entityType: 'reconciliation_item', entityId: itemId, before: { status: item.status }, after: { status: item.status, note, proposedBy: person } });
    return { proposed: true, item: await view(tx, item.id) };
  }
  if (twoPeople && isMaker({ by: item.proposed_by, staffId: item.proposed_by_staff_id }, principal)) {
    throw new ForbiddenError('the resolution must be confirmed by a person other than the one who proposed it', 'own_resolution');
  }
  const people = JSON.stringify({ ...item.people, ...(person ? { resolved: person } : {}) });
  await tx('reconciliation_items').where({ id: item.id }).update({ status: 'resolved', resolution_note: note, resolved_by: actorOf(principal), resolved_by_staff_id: person?.staffId ?? null, resolved_at: now, people });
  const after = { status: 'resolved', note, ...(person ? { resolvedBy: person } : {}), ...(item.proposed_by ? { proposedNote: item.proposed_note, proposedBy: item.people?.proposed ?? item.proposed_by } : {}) };
  await recordAudit(tx, { action: 'reconciliation_item.resolved', entityType: 'reconciliation_item', entityId: itemId, before: { status: item.status }, after });
  return { proposed: false, item: await view(tx, item.id) };
}

async function view(tx: Knex.Transaction, id: number) {
  return presentItem((await itemQuery(tx).where('it.id', id).first()) as ItemView);
}
