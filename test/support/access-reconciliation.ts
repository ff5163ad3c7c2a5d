import type { Row } from './access';

/** Reconciliation routes × roles × court scope (see test/api/access.test.ts). */
export const reconciliationAccessRows: Row[] = [];
