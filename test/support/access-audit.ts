import type { Row } from './access';
import { api } from './builders';

/** The trail's routes × roles × court scope (see test/api/access.test.ts). */
export const auditAccessRows: Row[] = [
  { route: 'GET /v1/audit-events', roles: ['admin', 'finance'], ok: 200, otherCourt: 403, call: (_f, h) => api().get('/v1/audit-events?courtCode=1411').set(h) },
];
