import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request context: the request id and the acting principal, read by the logger and the audit trail. */
export interface RequestContext {
  requestId: string;
  actor?: { type: 'api_key' | 'staff' | 'anonymous' | 'system' | 'litigant' | 'operator'; id: string };
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
