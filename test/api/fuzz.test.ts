import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import type Joi from 'joi';
import type { Role } from '../../src/auth/principal';
import { apiRoutes } from '../../src/http/app';
import type { RouteDef } from '../../src/http/route';
import { pageRoutes } from '../../src/pages/routes';
import { webhookRoutes } from '../../src/webhooks/routes';
import request from 'supertest';
import { auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

/**
 * Generated bad input to every route in the route list: malformed path parameters, queries and
 * bodies (wrong types, out of range, unknown fields, not JSON at all), each sent with a key of the
 * route's role. Nothing may answer 5xx, and no table's contents may change.
 *
 * FUZZ_RUNS (cases per route, default 20) and FUZZ_SEED (to replay a failure) tune a run.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

/**
 * Counters that refused or counted requests write by design (per-address rate limits on the
 * litigant pages' posts): not business data, so not part of "nothing changed".
 */
const COUNTERS = new Set(['rate_limit_counters']);
/** Columns that record use, not content: a key's last use is stamped on every authenticated request. */
const USAGE_COLUMNS: Record<string, string[]> = { api_keys: ['last_used_at'] };

/** Every table's row count and a checksum of its contents, in the run's schema. */
async function snapshot(): Promise<Record<string, string>> {
  const { knex } = testEnv();
  const { rows } = await knex.raw(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`);
  const out: Record<string, string> = {};
  for (const { name } of rows as { name: string }[]) {
    if (COUNTERS.has(name)) continue;
    const row = (USAGE_COLUMNS[name] ?? []).reduce((expr, column) => `${expr} - '${column}'`, 'to_jsonb(t)');
    const [r] = (await knex.raw(`select count(*)::int as n, coalesce(md5(string_agg((${row})::text, '|' order by (${row})::text)), '') as sum from ?? t`, [name])).rows;
    out[name] = `${r.n}:${r.sum}`;
  }
  return out;
}

/** Values of every shape a field should not take (and some it may, mixed in). */
const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', 'all', 'null', '0', '-1', '1e309', 'NaN', '2026-02-30', '9999-99-99', '(2026)晋0105民初1号', '(2026)晋01民初99999999号', 'inv_x', '\u0000', "' or 1=1 --", '<script>alert(1)</script>', '../../etc/passwd', 'a'.repeat(3000)),
  fc.integer(),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, 1e30, -1e30, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 }),
);

const keysOf = (schema: Joi.Schema | undefined): string[] => Object.keys((schema?.describe() as { keys?: Record<string, unknown> } | undefined)?.keys ?? {});

/** An object shaped like the schema's (its own field names, often) with wild values, or any JSON at all. */
function objectLike(schema: Joi.Schema | undefined): fc.Arbitrary<unknown> {
  const names = keysOf(schema);
  const shaped = names.length
    ? fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })), wild, { maxKeys: names.length + 2 })
    : fc.dictionary(fc.string({ maxLength: 12 }), wild, { maxKeys: 3 });
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 });
}

/** Path parameter values: random text, and text that starts like our ids or case numbers. */
const param = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
  fc.tuple(fc.constantFrom('inv_', 'pay_', 'ref_', 'rec_', 'reci_', 'cbe_', 'cbm_', '(2026)晋0105民初', '（2026）晋01民初', '(2026)晋'), fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
  fc.constantFrom('0', '-1', '99999999999999999999', 'null', 'a'.repeat(500), '%00', '..'),
);

/** Query values that once broke something (a cursor naming an id beyond bigint gave a 500), and edge values. */
const QUERY_SEEDS = ['-1', '0', '1e9', '99999999999999999999', 'true', '', Buffer.from('i:99999999999999999999999').toString('base64url'), Buffer.from('i:-1').toString('base64url')];

type RawBody = { kind: 'json'; value: unknown } | { kind: 'text'; type: string; value: string };

const rawBody: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('{', '{"a":', '[1,', 'null null', '{"__proto__":{"x":1}}', '\u0000'), fc.string({ maxLength: 30 }));

function bodyFor(route: RouteDef): fc.Arbitrary<RawBody | null> {
  if (route.method === 'get') return fc.constant(null);
  return fc.oneof(
    { arbitrary: objectLike(route.body).map((value): RawBody => ({ kind: 'json', value })), weight: 6 },
    { arbitrary: rawBody.map((value): RawBody => ({ kind: 'text', type: 'application/json', value })), weight: 1 },
    { arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml'), rawBody).map(([type, value]): RawBody => ({ kind: 'text', type, value })), weight: 1 },
  );
}

interface Case {
  params: string[];
  query: Record<string, unknown>;
  body: RawBody | null;
  idempotencyKey: string | null;
}

function caseFor(route: RouteDef): fc.Arbitrary<Case> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const queryNames = keysOf(route.query);
  return fc.record({
    params: fc.tuple(...names.map(() => param)).map((t) => t as string[]),
    query: fc.dictionary(queryNames.length ? fc.oneof(fc.constantFrom(...queryNames), fc.string({ maxLength: 8 })) : fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.constantFrom(...QUERY_SEEDS)), { maxKeys: 3 }),
    body: bodyFor(route),
    idempotencyKey: fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => /^[\x21-\x7e]+$/.test(s)), fc.constant('k'.repeat(300))), { nil: null }),
  });
}

/** Whether the case is bad input for the route (a case the schemas would accept could legitimately write). */
function isBad(route: RouteDef, c: Case): boolean {
  if (!route.body || route.method === 'get') return true; // reads, and writes keyed by the (random) path alone
  if (c.body?.kind !== 'json') return true;
  return route.body.validate(c.body.value ?? {}, { convert: true }).error !== undefined;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function send(base: string, route: RouteDef, c: Case, key: string | null) {
  let i = 0;
  const path = route.path.replace(/\{\w+\}/g, () => encodeURIComponent(c.params[i++]));
  let req = request(base)[route.method](path).agent(agent).query(c.query as Record<string, string>);
  if (key) req = req.set(auth(key));
  if (c.idempotencyKey) req = req.set('idempotency-key', c.idempotencyKey);
  if (!c.body) return req;
  if (c.body.kind === 'json') return req.set('content-type', 'application/json').send(JSON.stringify(c.body.value ?? null));
  return req.set('content-type', c.body.type).send(c.body.value);
}

describe('fuzz: generated bad input to every route', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer(testEnv().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const keys = new Map<Role, string>();
  const keyForRoute = async (route: RouteDef): Promise<string | null> => {
    if (route.access === 'public') return null;
    const role: Role = route.access === 'any_key' ? 'clerk' : route.access[0];
    if (!keys.has(role)) keys.set(role, await keyFor(role, 'all'));
    return keys.get(role)!;
  };

  it(`when every route gets ${RUNS} generated bad requests (seed ${SEED}), then none answers 5xx and no table changes`, async function () {
    this.timeout(300_000);
    const { processor: p } = testEnv();
    const routes = [...apiRoutes(p), ...webhookRoutes(p), ...pageRoutes(p)];
    expect(routes.length).to.be.at.least(30);
    const failures: string[] = [];
    for (const route of routes) await keyForRoute(route); // keys made before the first snapshot
    let before = await snapshot();
    for (const route of routes) {
      const key = await keyForRoute(route);
      const property = fc.asyncProperty(caseFor(route), async (c) => {
        fc.pre(isBad(route, c));
        const res = await send(base, route, c, key);
        if (res.status >= 500) throw new Error(`${res.status} ${res.text.slice(0, 300)}`);
      });
      const outcome = await fc.check(property, { numRuns: RUNS, seed: SEED, maxSkipsPerRun: 50 });
      if (outcome.failed) failures.push(`${route.method.toUpperCase()} ${route.path}: ${String(outcome.errorInstance)} — input ${fc.stringify(outcome.counterexample)} (seed ${outcome.seed}, path ${outcome.counterexamplePath})`);
      const after = await snapshot();
      const changed = Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
      if (changed.length) failures.push(`${route.method.toUpperCase()} ${route.path}: changed ${changed.join(', ')}`);
      before = after;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });
});
