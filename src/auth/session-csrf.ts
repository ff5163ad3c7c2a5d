import crypto from 'node:crypto';
import type { Request } from 'express';
import { ForbiddenError } from '../shared/errors';
import type { Principal } from './principal';

export const CSRF_HEADER = 'x-csrf-token';

/**
 * A browser session's change through the API carries the session's CSRF token in X-CSRF-Token
 * (the console pages hold it): the cookie alone, which a browser sends by itself, changes nothing.
 * A key's request needs none (no browser sends a bearer key on its own).
 */
export function assertSessionCsrf(req: Request, p: Principal): void {
  if (p.kind !== 'session') return;
  const want = (p as Principal & { csrfToken?: string }).csrfToken ?? '';
  const sent = req.get(CSRF_HEADER) ?? '';
  const a = Buffer.from(sent);
  const b = Buffer.from(want);
  if (!want || a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
    throw new ForbiddenError(`a change made with a session cookie must carry the session's CSRF token in ${CSRF_HEADER}`, 'csrf_token_invalid');
  }
}
