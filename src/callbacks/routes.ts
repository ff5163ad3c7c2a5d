import type { RouteDef } from '../http/route';

/** Admin routes for callback endpoints and messages (filled in by the callbacks module). */
export function callbackRoutes(): RouteDef[] {
  return [];
}
