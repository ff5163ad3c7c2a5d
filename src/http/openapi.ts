import type Joi from 'joi';
import type { RouteDef } from './route';
import { COMPONENTS, type ResponseDoc } from './schemas';

type Schema = Record<string, unknown>;
interface Description {
  type: string;
  flags?: { presence?: string; only?: boolean; description?: string; default?: unknown };
  keys?: Record<string, Description>;
  items?: Description[];
  allow?: unknown[];
  rules?: { name: string; args?: Record<string, unknown> }[];
  matches?: { schema: Description }[];
}

/** Joi → JSON Schema, enough for the shapes our routes accept. */
export function toJsonSchema(d: Description): Schema {
  const s: Schema = {};
  const rule = (n: string) => d.rules?.find((r) => r.name === n)?.args;
  switch (d.type) {
    case 'object': {
      s.type = 'object';
      if (d.keys) {
        s.properties = Object.fromEntries(Object.entries(d.keys).map(([k, v]) => [k, toJsonSchema(v)]));
        const required = Object.entries(d.keys).filter(([, v]) => v.flags?.presence === 'required').map(([k]) => k);
        if (required.length) s.required = required;
      }
      break;
    }
    case 'array':
      s.type = 'array';
      if (d.items?.[0]) s.items = toJsonSchema(d.items[0]);
      break;
    case 'number':
      s.type = d.rules?.some((r) => r.name === 'integer') ? 'integer' : 'number';
      if (rule('min')) s.minimum = rule('min')!.limit;
      if (rule('max')) s.maximum = rule('max')!.limit;
      break;
    case 'boolean':
      s.type = 'boolean';
      break;
    case 'date':
      s.type = 'string';
      s.format = 'date';
      break;
    case 'alternatives':
      s.oneOf = (d.matches ?? []).map((m) => toJsonSchema(m.schema));
      break;
    default:
      s.type = 'string';
      if (rule('max')) s.maxLength = rule('max')!.limit;
      if (rule('pattern')) s.pattern = String((rule('pattern')!.regex as string) ?? '').replace(/^\/|\/\w*$/g, '');
  }
  const values = (d.allow ?? []).filter((v) => v !== null && v !== '');
  if (d.flags?.only && values.length) s.enum = values;
  if (d.allow?.includes(null)) s.nullable = true;
  if (d.flags?.description) s.description = d.flags.description;
  return s;
}

function describe(schema: Joi.Schema | undefined): Description | undefined {
  return schema ? (schema.describe() as unknown as Description) : undefined;
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: PROBLEM_REF } } });
/** The media types a route answers in (`produces` may name several: 'application/json, text/csv'). */
const typesOf = (r: RouteDef) => (r.produces ?? 'application/json').split(/,\s*/);
const isJson = (r: RouteDef) => typesOf(r).includes('application/json');

/** One documented response: a JSON success with its declared schema; an error as the shared Problem; a page or export as text. */
function responseOf(r: RouteDef, status: number, doc: string | ResponseDoc): Record<string, unknown> {
  const { description, schema } = typeof doc === 'string' ? { description: doc, schema: undefined } : doc;
  const text = (t: string) => [t, { schema: { type: 'string' } }];
  if (status >= 300 && status < 400 && !schema) return { description, headers: { Location: { schema: { type: 'string' } } } };
  if (status >= 400 && !schema && isJson(r)) return { description, content: { 'application/problem+json': { schema: PROBLEM_REF } } };
  const content = Object.fromEntries(
    typesOf(r).map((t) => (t !== 'application/json' ? text(t) : schema ? [t, { schema }] : [t, {}])), // JSON in prose only: a test refuses it
  );
  return { description, content };
}

export function buildOpenApi(routes: readonly RouteDef[], serverUrl: string): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = describe(r.params);
    const query = describe(r.query);
    const body = describe(r.body);
    const parameters = [
      ...Object.entries(params?.keys ?? {}).map(([name, d]) => ({ name, in: 'path', required: true, schema: toJsonSchema(d) })),
      ...Object.entries(query?.keys ?? {}).map(([name, d]) => ({ name, in: 'query', required: d.flags?.presence === 'required', schema: toJsonSchema(d) })),
      ...(r.method === 'post' && 'write' in r ? [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } }] : []),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, doc] of Object.entries(r.responses)) responses[status] = responseOf(r, Number(status), doc);
    if (r.access !== 'public') {
      responses[401] ??= problem('no valid API key' + (r.sessions ? ' or staff session' : ''));
      responses[403] ??= problem('the caller\'s role or courts do not allow it');
    }
    if (r.params || r.query || r.body) responses[422] ??= problem('the request does not validate: `errors` names each field');
    if (r.params && isJson(r)) responses[404] ??= problem('not found');
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.access === 'public' ? { security: [] } : r.sessions ? { security: [{ apiKey: [] }, { staffSession: [] }] } : {}),
      'x-roles': r.access === 'public' || r.access === 'any_key' ? r.access : [...r.access],
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'courtpay', version: '1.0.0', description: 'Court-fee payment and refund service. Amounts are integer fen (CNY minor units).' },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer' },
        // A signed-in person's browser session (/console/login); a change made with it also carries X-CSRF-Token.
        staffSession: { type: 'apiKey', in: 'cookie', name: 'courtpay_session', description: 'named __Host-courtpay_session in production' },
      },
      schemas: COMPONENTS,
    },
    security: [{ apiKey: [] }],
    paths,
  };
}
