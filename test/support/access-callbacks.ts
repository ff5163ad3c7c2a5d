import type { Row } from './access';

/** Callback admin routes × roles × court scope (see test/api/access.test.ts). */
export const callbackAccessRows: Row[] = [];
