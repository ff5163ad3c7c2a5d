/**
 * /docs: the API reference, rendered on the server from the OpenAPI document /openapi.json serves —
 * one source, so the page cannot say something the document does not. No script, no external asset.
 */
import { esc } from '../pages/layout';

type Schema = Record<string, any>;
interface Operation {
  summary: string;
  tags: string[];
  'x-roles': string | string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Schema }> }>;
}

const REF = '#/components/schemas/';
const anchor = (name: string) => `schema-${name}`;

function typeOf(s: Schema | undefined): string {
  if (!s || !Object.keys(s).length) return 'any';
  const nullable = s.nullable ? ' or null' : '';
  if (s.$ref) {
    const name = String(s.$ref).slice(REF.length);
    return `<a href="#${esc(anchor(name))}">${esc(name)}</a>`;
  }
  if (s.oneOf) return s.oneOf.map(typeOf).join(' or ') + nullable;
  if (s.allOf) return s.allOf.map(typeOf).join(' and ') + nullable;
  if (s.enum) return `${s.enum.map((v: unknown) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ')}${nullable}`;
  if (s.type === 'array') return `array of ${typeOf(s.items)}${nullable}`;
  return `${esc(s.type ?? 'any')}${s.format ? ` (${esc(s.format)})` : ''}${nullable}`;
}

function notes(s: Schema): string {
  const bits: string[] = [];
  if (s.description) bits.push(esc(s.description));
  if (s.minimum !== undefined) bits.push(`≥ ${esc(s.minimum)}`);
  if (s.maximum !== undefined) bits.push(`≤ ${esc(s.maximum)}`);
  if (s.maxLength !== undefined) bits.push(`at most ${esc(s.maxLength)} characters`);
  if (s.pattern) bits.push(`pattern <code>${esc(s.pattern)}</code>`);
  return bits.join('; ');
}

/** An object's fields as a table; another schema as one line of type. */
function fields(s: Schema | undefined, caption: string, mark = 'required'): string {
  if (!s) return '';
  if (s.type !== 'object' || !s.properties) return `<p>${esc(caption)}: ${typeOf(s)}</p>`;
  const required = new Set<string>(s.required ?? []);
  const rows = Object.entries(s.properties as Record<string, Schema>)
    .map(([name, f]) => `<tr><td><code>${esc(name)}</code></td><td>${typeOf(f)}</td><td>${required.has(name) ? 'yes' : ''}</td><td>${notes(f)}</td></tr>`)
    .join('');
  return `<div class="table-scroll"><table><caption>${caption}</caption><thead><tr><th>field</th><th>type</th><th>${esc(mark)}</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function who(op: Operation): string {
  const roles = op['x-roles'];
  if (roles === 'public') return 'anyone (no key)';
  const via = op.security?.length === 2 ? ' — with an API key or a staff session' : ' — with an API key';
  return (roles === 'any_key' ? 'any valid key' : `roles: ${[roles].flat().map((r) => `<code>${esc(r)}</code>`).join(', ')}`) + via;
}

function operation(method: string, path: string, op: Operation, components: Record<string, Schema>): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  const params = op.parameters?.length
    ? `<div class="table-scroll"><table><caption>Parameters</caption><thead><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>notes</th></tr></thead><tbody>${op.parameters
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeOf(p.schema)}</td><td>${p.required ? 'yes' : ''}</td><td>${notes(p.schema)}</td></tr>`)
        .join('')}</tbody></table></div>`
    : '';
  const body = op.requestBody ? fields(op.requestBody.content['application/json']?.schema, 'Request body (application/json)') : '';
  const responseFields = (schema: Schema) => {
    const named = schema.$ref ? String(schema.$ref).slice(REF.length) : null;
    return fields(named ? components[named] : schema, `Response body${named ? `: ${typeOf(schema)}` : ''}`, 'always');
  };
  const entries = Object.entries(op.responses);
  const success = entries
    .filter(([status]) => Number(status) < 400)
    .map(([status, r]) => {
      const [type, media] = Object.entries(r.content ?? {})[0] ?? [];
      const head = `<h4><code>${esc(status)}</code> ${esc(r.description)}${type ? ` <span class="note">(${esc(type)})</span>` : ''}</h4>`;
      return head + (media?.schema && type?.includes('json') ? responseFields(media.schema) : '');
    })
    .join('');
  const errors = entries.filter(([status]) => Number(status) >= 400);
  const errorList = errors.length
    ? `<h4>Errors</h4><ul>${errors.map(([status, r]) => `<li><code>${esc(status)}</code> ${esc(r.description)}</li>`).join('')}</ul>`
    : '';
  return `<section class="op" id="${esc(id)}"><h3><span class="method">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p><p class="note">Who may call it: ${who(op)}</p>${params}${body}${success}${errorList}</section>`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:1rem/1.55 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1a1a1a;background:#fff}
.wrap{max-width:64rem;margin:0 auto;padding:0 1rem}
header{border-bottom:1px solid #c8c8c8;padding:.75rem 0}
a{color:#0b4f99}
a:focus{outline:3px solid #f0b400;outline-offset:2px}
h1{font-size:1.6rem;margin:1rem 0}
h2{font-size:1.3rem;margin:2.25rem 0 .5rem;border-bottom:2px solid #0b4f99}
h3{font-size:1.05rem;margin:1.5rem 0 .25rem;overflow-wrap:anywhere}
h4{font-size:.95rem;margin:.75rem 0 .25rem}
.method{display:inline-block;min-width:4.2rem;padding:0 .35rem;border-radius:4px;background:#0b4f99;color:#fff;font-size:.85rem;text-align:center}
.op{border-top:1px solid #e0e0e0;padding-bottom:.5rem}
.note{color:#3d3d3d;font-size:.92rem}
.table-scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.35rem 0;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #c8c8c8;padding:.3rem .4rem;text-align:left;vertical-align:top}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
nav ul{columns:2;padding-left:1.2rem}
@media (max-width:40rem){nav ul{columns:1}}
`;

/** The whole reference page for one OpenAPI document. */
export function renderDocs(spec: Schema): string {
  const paths = spec.paths as Record<string, Record<string, Operation>>;
  const byTag = new Map<string, [string, string, Operation][]>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  const tags = [...byTag.keys()];
  const schemas = Object.entries((spec.components?.schemas ?? {}) as Record<string, Schema>);
  const servers = ((spec.servers ?? []) as { url: string }[]).map((s) => `<code>${esc(s.url)}</code>`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(spec.info?.title)} API reference</title><style>${CSS}</style></head>
<body><header><div class="wrap"><strong>${esc(spec.info?.title)}</strong> · API reference</div></header>
<main class="wrap"><h1>${esc(spec.info?.title)} API reference</h1>
<p>${esc(spec.info?.description)}</p>
<p>Server: ${servers}. Authenticate with <code>Authorization: Bearer &lt;api key&gt;</code>. A <code>POST</code> that changes something takes an
<code>Idempotency-Key</code> header. Errors are <code>application/problem+json</code> (<a href="#${anchor('Problem')}">Problem</a>) with a stable <code>code</code>.
The machine-readable description is <a href="/openapi.json">/openapi.json</a>.</p>
<nav><h2>Contents</h2><ul>${tags.map((t) => `<li><a href="#tag-${esc(t)}">${esc(t)}</a></li>`).join('')}<li><a href="#schemas">objects</a></li></ul></nav>
${tags.map((t) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>${byTag.get(t)!.map(([m, p, op]) => operation(m, p, op, Object.fromEntries(schemas))).join('\n')}`).join('\n')}
<h2 id="schemas">Objects</h2>
${schemas.map(([name, s]) => `<section class="op" id="${esc(anchor(name))}"><h3>${esc(name)}</h3>${fields(s, esc(name), 'always')}</section>`).join('\n')}
</main></body></html>`;
}
