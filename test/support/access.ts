import type { Role } from '../../src/auth/principal';

/** The access table's row shape (test/api/access.test.ts); modules add their rows in access-*.ts. */
export type Scope = 'own' | 'all' | 'other';
export interface Fixture {
  caseNumber: string;
  invoiceId: string;
  paymentId: string;
  refundId: string;
}
export interface Row {
  route: string;
  roles: readonly Role[];
  ok: number;
  /** What an allowed role outside the court gets: 403 for a court it names, 404 for an entity it looks up. */
  otherCourt: number;
  call: (f: Fixture, headers: Record<string, string>) => Promise<{ status: number; body: unknown }>;
  /** Where a business rule on top of the role decides (e.g. only its requester, a clerk, may cancel a refund). */
  expect?: (role: Role, scope: Scope) => number | undefined;
}

