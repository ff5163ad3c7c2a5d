import type { Knex } from 'knex';
import { assertCourtInScope, courtFilter, type Principal } from '../auth/principal';
import type { Config } from '../config';
import { requireCourt } from '../courts/courts';
import { ValidationError } from '../shared/errors';

/** Opaque list cursors: the last row's id, so pages never overlap however rows are added. */
export function encodeCursor(id: number): string {
  return Buffer.from(`i:${id}`).toString('base64url');
}

/**
 * A cursor is exactly what encodeCursor gave out: a row id (a positive safe integer, so never a
 * number the bigint column cannot take) in its one encoding. Anything else is a 422 naming cursor.
 */
export function decodeCursor(cursor: string): number {
  const m = /^i:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(id) || encodeCursor(id) !== cursor) {
    throw ValidationError.field('cursor', 'not a cursor this service handed out', 'invalid_cursor');
  }
  return id;
}

/** Limits a list to the courts the key may see; a court named in the query must be one of them (403). */
export function withinCourts(q: Knex.QueryBuilder, column: string, config: Readonly<Config>, principal: Principal, courtCode?: string): void {
  if (courtCode) {
    requireCourt(config, courtCode);
    assertCourtInScope(principal, courtCode);
    q.where(column, courtCode);
  }
  const scope = courtFilter(principal);
  if (scope) q.whereIn(column, scope);
}

/** Newest first, `limit` rows after the cursor, and the cursor for the next page (null at the end). */
export async function pageOf<T extends { id: number }>(q: Knex.QueryBuilder, idColumn: string, f: { limit: number; cursor?: string }): Promise<{ rows: T[]; nextCursor: string | null }> {
  if (f.cursor) q.where(idColumn, '<', decodeCursor(f.cursor));
  const rows = (await q.orderBy(idColumn, 'desc').limit(f.limit + 1)) as T[];
  const page = rows.slice(0, f.limit);
  return { rows: page, nextCursor: rows.length > f.limit ? encodeCursor(page[page.length - 1].id) : null };
}
