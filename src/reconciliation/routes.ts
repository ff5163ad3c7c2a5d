import type { RouteDef } from '../http/route';
import type { Processor } from '../payments/processor';

/** Finance's reconciliation routes (filled in by the reconciliation module). */
export function reconciliationRoutes(_processor: Processor): RouteDef[] {
  return [];
}
