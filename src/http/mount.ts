import type { Request, Response, Router } from 'express';
import type { Knex } from 'knex';
import type { ApiKeyAuthenticator } from '../auth/api-key-store';
import { assertRole, type Principal } from '../auth/principal';
import type { Config } from '../config';
import { currentContext } from '../shared/context';
import { AppError, UnauthorizedError } from '../shared/errors';
import { claimIdempotent, completeIdempotent, idempotentRequest } from './idempotency';
import { expressPath, isWrite, type Reply, type RouteContext, type RouteDef, type WriteRoute } from './route';
import { authFailureLimiter, clientSubject, type RateLimiter } from './rate-limit';
import { validate } from './validate';
import type { StaffSessions } from '../staff/sessions';
import { sessionToken } from '../staff/cookies';
import { assertSessionCsrf } from '../auth/session-csrf';

export interface MountDeps {
  knex: Knex;
  config: Readonly<Config>;
  authenticator: ApiKeyAuthenticator;
  /** Staff sessions, for the routes that accept a session cookie (route.sessions). */
  sessions?: StaffSessions;
}

/** Turns route definitions into Express handlers: auth, validation, idempotency and transactions live here once. */
export function mountRoutes(router: Router, routes: readonly RouteDef[], deps: MountDeps): void {
  const authFailures = authFailureLimiter(deps.knex, deps.config);
  for (const route of routes) {
    router[route.method](expressPath(route.path), async (req: Request, res: Response) => {
      res.locals.route = route.path;
      const principal = await authorize(route, req, deps, authFailures);
      const ctx: RouteContext = {
        req,
        res,
        principal: principal as Principal,
        params: route.params ? validate(route.params, req.params, 'params') : (req.params as Record<string, string>),
        query: route.query ? validate(route.query, req.query, 'query') : (req.query as Record<string, unknown>),
        body: route.body ? validate(route.body, bodyOf(req), 'body') : undefined,
        db: deps.knex,
        config: deps.config,
      };
      const reply = isWrite(route) ? await runWrite(route, ctx, deps.knex) : await route.read(ctx);
      if (reply) send(res, reply);
    });
  }
}

function bodyOf(req: Request): unknown {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new AppError('unsupported_media_type', 'send the body as application/json', 415, { errors: [{ field: 'Content-Type', message: 'must be application/json' }] });
  }
  return req.body ?? {};
}

/**
 * A failed authentication (no key, or one that is malformed, forged, unknown or revoked) counts
 * against the client's address, shared by every instance; over the limit it is answered 429. A
 * valid key is never refused for its address's failures: keys cannot be guessed, and refusing it
 * would let anyone behind the same address (a court's NAT, a shared proxy) lock a case system out.
 */
async function authorize(route: RouteDef, req: Request, deps: MountDeps, failures: RateLimiter): Promise<Principal | null> {
  if (route.access === 'public') return null;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const session = !header && route.sessions && deps.sessions ? sessionToken(req, deps.config) : null;
  const principal = m ? await deps.authenticator.authenticate(m[1]) : session !== null ? await deps.sessions!.authenticate(session) : null;
  if (!principal) {
    await failures.hit(clientSubject(req.ip));
    if (session !== null) throw new UnauthorizedError('the session has ended or is not valid; sign in again', 'invalid_session');
    throw m ? new UnauthorizedError('the API key is not valid or has been revoked', 'invalid_api_key') : new UnauthorizedError();
  }
  const ctx = currentContext();
  if (ctx) ctx.actor = principal.person && principal.kind === 'session' ? { type: 'staff', id: principal.person.login } : { type: 'api_key', id: principal.keyId };
  if (isWrite(route)) assertSessionCsrf(req, principal);
  if (route.access !== 'any_key') assertRole(principal, route.access);
  return principal;
}

async function runWrite(route: WriteRoute, ctx: RouteContext, knex: Knex): Promise<Reply> {
  const key = ctx.req.get('idempotency-key');
  const request = key !== undefined && ctx.principal ? idempotentRequest(ctx.principal.keyId, key, route.method, ctx.req.originalUrl, ctx.body ?? null) : null;
  // The key's claim is the transaction's first write: it commits with the write and its answer, or
  // vanishes with them (a failed, cut or crashed request leaves no claim for a retry to wait out).
  const outcome = await knex.transaction(async (tx): Promise<{ replayed: boolean; reply: Reply }> => {
    const begun = request ? await claimIdempotent(tx, request, ctx.config.idempotency.claimWaitMs) : null;
    if (begun?.kind === 'replay') return { replayed: true, reply: begun.reply };
    const reply = await route.write(ctx, tx);
    if (begun) await completeIdempotent(tx, begun.claim, reply, route.shownOnce);
    return { replayed: false, reply };
  });
  if (outcome.replayed || !route.afterCommit) return outcome.reply;
  return route.afterCommit(ctx, outcome.reply);
}

function send(res: Response, reply: Reply): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  res.status(reply.status);
  if (reply.body === undefined) res.end();
  else if (typeof reply.body === 'string') res.send(reply.body);
  else res.json(reply.body);
}
