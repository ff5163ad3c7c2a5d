import type Joi from 'joi';
import type { RouteDef } from './route';

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

const PROBLEM = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };

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
    for (const [status, description] of Object.entries(r.responses)) {
      responses[status] = { description, content: { [r.produces ?? 'application/json']: {} } };
    }
    if (r.access !== 'public') Object.assign(responses, { 401: PROBLEM, 403: PROBLEM });
    if (r.params || r.query || r.body) responses[422] = PROBLEM;
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
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ apiKey: [] }],
    paths,
  };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A plain page listing the API from the same routes — no script, no CDN. */
export function renderDocs(routes: readonly RouteDef[]): string {
  const rows = routes
    .map((r) => `<tr><td><code>${r.method.toUpperCase()}</code></td><td><code>${esc(r.path)}</code></td><td>${esc(r.access === 'public' || r.access === 'any_key' ? r.access.replace('_', ' ') : r.access.join(', '))}</td><td>${esc(r.summary)}</td></tr>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>courtpay API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}</style></head>
<body><h1>courtpay API</h1><p>Authenticate with <code>Authorization: Bearer &lt;api key&gt;</code>. Amounts are integer fen. Errors are <code>application/problem+json</code>. The machine-readable description is <a href="/openapi.json">/openapi.json</a>.</p>
<table><thead><tr><th>method</th><th>path</th><th>who</th><th>what</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
}
