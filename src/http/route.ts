import type { Request, Response } from 'express';
import type Joi from 'joi';
import type { Knex } from 'knex';
import type { Principal, Role } from '../auth/principal';
import type { Config } from '../config';
import type { ResponseDoc } from './schemas';

/** Who may call a route: nobody needs a key, any valid key, or one of these roles. */
export type Access = 'public' | 'any_key' | readonly Role[];

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  req: Request;
  res: Response;
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  db: Knex;
  config: Readonly<Config>;
}

interface BaseRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, e.g. /v1/cases/{caseNumber}. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.Schema;
  /**
   * Documented responses: status → description, or (for a JSON body) description and schema — every
   * success answer of a JSON route declares its schema; 4xx/5xx are the shared Problem.
   */
  responses: Record<number, string | ResponseDoc>;
  /** The response is not JSON (HTML pages, Prometheus text). */
  produces?: string;
  /** A signed-in person's session cookie is accepted as well as a key (src/staff: GET /v1/me only, for now). */
  sessions?: true;
}

/** A route that only reads: runs on the pool. */
export interface ReadRoute extends BaseRoute {
  read: (ctx: RouteContext<any, any, any>) => Promise<Reply | void>;
}

/**
 * A route that changes something: runs in one transaction, which also records the
 * Idempotency-Key response, so the write and its replay record commit together.
 */
export interface WriteRoute extends BaseRoute {
  write: (ctx: RouteContext<any, any, any>, tx: Knex.Transaction) => Promise<Reply>;
  /**
   * Top-level body fields shown this once (a signing secret): never stored with the Idempotency-Key
   * record, so its replay answers the same status and body with these fields null.
   */
  shownOnce?: readonly string[];
  /**
   * Work that must follow the commit (a processor call after the row that reserves the money is
   * safely stored). Its reply is what the caller gets; an Idempotency-Key replay returns the committed one.
   */
  afterCommit?: (ctx: RouteContext<any, any, any>, committed: Reply) => Promise<Reply>;
}

export type RouteDef = ReadRoute | WriteRoute;

export function isWrite(r: RouteDef): r is WriteRoute {
  return 'write' in r;
}

export function expressPath(template: string): string {
  return template.replace(/\{(\w+)\}/g, ':$1');
}
