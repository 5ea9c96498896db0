/**
 * `gateway import openapi`: the operations of an OpenAPI 3.0 / 3.1 document as root fields
 * bound with `@http` (docs/import.md has the rules, and the binding syntax is the engine's).
 *
 * GET → a Query field, POST / PUT / PATCH / DELETE → a Mutation field, named after the
 * operationId (else method and path). Path, query and header parameters → arguments written
 * into `path` / `headers` templates; a JSON request body → an input type passed as `body`;
 * the 200/201 (else first 2xx) JSON answer → the field's type. What a binding cannot say is
 * left out with a `# import: skipped … because …` line.
 */
import type { Json, JsonObject, OpenApiDocument } from './openapi-load.js';
import { SchemaConverter, isObject, type Converted } from './openapi-schema.js';
import { NameScope, fieldName, typeName } from './names.js';
import { named, type Binding, type SdlArg, type SdlDocument, type SdlField } from './sdl.js';
import { ImportError } from './source.js';

export interface OpenApiImportOptions {
  /** The file name printed in the header (no folder: the output may be committed). */
  label: string;
  /** The upstream the bindings name. */
  upstream: string;
  /** operationIds or field names to import; all when absent. */
  only?: string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const BINDABLE = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** OpenAPI 3 §4.8.12.1: header parameters with these names are ignored. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ANSWER_CODES = ['200', '201', '202', '203', '2XX'];
const PARAMETER_PLACES = new Set(['path', 'query', 'header', 'cookie']);
/** The literal text of a path: RFC 3986 path characters (pchar and "/"), percent-escapes included. */
const PATH_TEXT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

interface Operation {
  method: string;
  path: string;
  op: JsonObject;
  params: JsonObject[];
  id: string;
  field: string;
}

/** An object, or a list of objects: what a path or query template cannot write. */
function isObjectLike(s: JsonObject): boolean {
  if (s.type === 'object' || isObject(s.properties) || Array.isArray(s.allOf) || Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) return true;
  return (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) && isObject(s.items) && isObjectLike(s.items);
}

const isJsonMedia = (m: string): boolean => /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(m);

function jsonContent(content: Json | undefined): { schema?: Json; other?: string } {
  if (!isObject(content)) return {};
  const keys = Object.keys(content);
  if (keys.length === 0) return {};
  const json = keys.find(isJsonMedia);
  if (json !== undefined) return { schema: (content[json] as JsonObject | undefined)?.schema ?? {} };
  return { other: keys.join(', ') || 'no media type' };
}

/** Path-item parameters, overridden by the operation's own of the same name and location. */
function mergedParams(item: JsonObject, op: JsonObject): JsonObject[] {
  const out = new Map<string, JsonObject>();
  for (const list of [item.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) if (isObject(p) && typeof p.name === 'string' && typeof p.in === 'string') out.set(`${p.in}:${p.name}`, p);
  }
  return [...out.values()];
}

function collectOperations(doc: JsonObject): Operation[] {
  const out: Operation[] = [];
  const names = new NameScope();
  for (const [path, item] of Object.entries(doc.paths as JsonObject)) {
    if (!isObject(item)) continue;
    for (const m of METHODS) {
      const op = item[m];
      if (!isObject(op)) continue;
      const id = typeof op.operationId === 'string' && op.operationId ? op.operationId : `${m} ${path}`;
      out.push({ method: m.toUpperCase(), path, op, params: mergedParams(item, op), id, field: names.take(fieldName(id)) });
    }
  }
  return out;
}

/** The server's path ("/v1"), which the operation paths are relative to; "" when none. */
function serverPath(doc: JsonObject): { url?: string; path: string } {
  const s = Array.isArray(doc.servers) ? doc.servers[0] : undefined;
  if (!isObject(s) || typeof s.url !== 'string') return { path: '' };
  let url = s.url;
  if (isObject(s.variables)) for (const [k, v] of Object.entries(s.variables)) if (isObject(v) && typeof v.default === 'string') url = url.split(`{${k}}`).join(v.default);
  try {
    const p = new URL(url, 'http://server.invalid').pathname.replace(/\/+$/, '');
    return { url, path: p.includes('{') ? '' : p };
  } catch {
    return { url, path: '' };
  }
}

class OperationImporter {
  readonly doc: SdlDocument;
  private readonly schemas: SchemaConverter;

  constructor(
    private readonly api: OpenApiDocument,
    private readonly opts: OpenApiImportOptions,
    private readonly basePath: string,
  ) {
    this.doc = { header: [], skipped: [], query: [], mutation: [], types: [], enums: [] };
    this.schemas = new SchemaConverter(this.doc, NameScope.forTypes(), api.schemaNames);
  }

  /** The field for one operation, or why it is skipped (then the types made for it are taken back). */
  importOperation(o: Operation): SdlField | string {
    this.schemas.begin();
    const r = this.build(o);
    if (typeof r === 'string') this.schemas.rollback();
    else this.schemas.commit();
    return r;
  }

  private build(o: Operation): SdlField | string {
    if (!BINDABLE.has(o.method)) return `${o.method} answers have no JSON body to bind`;
    const notes: string[] = [];
    const args: SdlArg[] = [];
    const argScope = new NameScope();
    const opName = typeName(o.field);

    let path = o.path;
    const query: string[] = [];
    const headers: string[] = [];
    const literal = o.path.split(/\{[^{}]*\}/);
    if (!literal.every((part) => PATH_TEXT.test(part))) return `its path ${JSON.stringify(o.path)} holds characters a path template cannot (only RFC 3986 path characters and {parameters})`;
    const pathParams = new Set([...o.path.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!));
    let batchParam: { name: string; arg: string; explode: boolean } | undefined;

    for (const p of o.params) {
      const pname = p.name as string;
      const where = p.in as string;
      if (!PARAMETER_PLACES.has(where)) {
        notes.push(`skipped parameter ${JSON.stringify(pname)} because "in: ${where}" is not an OpenAPI 3 place`);
        continue;
      }
      if (where === 'cookie') {
        notes.push(`skipped cookie parameter ${JSON.stringify(pname)} because a binding sends no cookies`);
        continue;
      }
      if (where === 'header' && IGNORED_HEADERS.has(pname.toLowerCase())) continue;
      if (where === 'header' && !HTTP_TOKEN.test(pname)) {
        notes.push(`skipped header parameter ${JSON.stringify(pname)} because it is not a header name`);
        continue;
      }
      if (!isObject(p.schema)) {
        notes.push(`skipped ${where} parameter ${JSON.stringify(pname)} because it has no schema (a "content" parameter)`);
        if (where === 'path') return `path parameter ${JSON.stringify(pname)} has no schema`;
        continue;
      }
      const r = isObjectLike(p.schema) ? ({ notes: ['an object parameter has no template form'], nullable: true } as Converted) : this.schemas.convert(p.schema, `${opName}${typeName(pname)}`, 'input');
      if (!r.type) {
        const why = r.notes.join('; ');
        if (where === 'path') return `path parameter ${JSON.stringify(pname)}: ${why}`;
        notes.push(`skipped ${where} parameter ${JSON.stringify(pname)} because ${why}`);
        continue;
      }
      if (where === 'path' && r.type.of) return `path parameter ${JSON.stringify(pname)} is a list, which is not one path segment`;
      const arg = argScope.take(fieldName(pname));
      const isRequired = where === 'path' || p.required === true;
      args.push({ name: arg, type: { ...r.type, nonNull: isRequired } });
      notes.push(...r.notes.map((n) => `${arg}: ${n}`));
      if (where === 'path') {
        if (!pathParams.has(pname)) return `path parameter ${JSON.stringify(pname)} is not in the path ${o.path}`;
        pathParams.delete(pname);
        path = path.split(`{${pname}}`).join(`{$args.${arg}}`);
      } else if (where === 'query') {
        query.push(`${encodeURIComponent(pname)}={$args.${arg}}`);
        if (r.type.of) {
          const explode = p.explode !== false && (p.style === undefined || p.style === 'form');
          if (explode) notes.push(`${arg} is a list: the template sends it comma-separated (${pname}=a,b); this API asks for ${pname}=a&${pname}=b`);
          if (/^ids$|Ids$/.test(pname)) batchParam = { name: pname, arg, explode };
        }
      } else if (where === 'header') {
        headers.push(`${pname}: {$args.${arg}}`);
      }
    }
    if (pathParams.size > 0) return `path parameter ${[...pathParams].map((x) => JSON.stringify(x)).join(', ')} is not declared`;

    let body: string | undefined;
    const rb = o.op.requestBody;
    if (isObject(rb)) {
      const c = jsonContent(rb.content);
      if (c.other !== undefined) {
        if (rb.required === true) return `its request body is ${c.other} (only JSON bodies are imported)`;
        notes.push(`skipped the optional request body because it is ${c.other}, not JSON`);
      } else {
        const r = this.schemas.convert(c.schema, `${opName}Input`, 'input');
        if (!r.type) return `its request body: ${r.notes.join('; ')}`;
        const arg = argScope.take('input');
        args.push({ name: arg, type: { ...r.type, nonNull: rb.required === true } });
        body = this.bodyTemplate(arg, r.objectType, r.type.of !== undefined);
      }
    }
    if (isObject(o.op.callbacks)) notes.push(`skipped callbacks (${Object.keys(o.op.callbacks).join(', ')}) because a binding makes one call`);

    const answer = this.answer(o, opName);
    if (typeof answer === 'string') return answer;
    notes.push(...answer.notes);

    const full = (this.basePath + path).replace(/^(?!\/)/, '/');
    const b: Binding = { directive: 'http', args: [['upstream', this.opts.upstream]], hints: [] };
    if (o.method !== 'GET') b.args.push(['method', o.method]);
    b.args.push(['path', query.length ? `${full}?${query.join('&')}` : full]);
    if (body !== undefined) b.args.push(['body', body]);
    if (headers.length) b.args.push(['headers', headers]);
    const renames = answer.objectType ? this.schemas.renames.get(answer.objectType) : undefined;
    if (renames) b.args.push(['map', renames]);
    if (batchParam && answer.type.of && answer.itemProps) {
      const singular = batchParam.name === 'ids' ? 'id' : batchParam.name.replace(/Ids$/, 'Id');
      if (answer.itemProps.includes(singular)) {
        b.hints.push(`import: ${batchParam.name} is a list of keys and the answer a list of items with ${singular}: to batch, drop ${batchParam.name}= from path and uncomment`);
        b.hints.push(`batch: { form: ${batchParam.explode ? 'REPEATED_QUERY' : 'QUERY'}, param: ${JSON.stringify(batchParam.name)}, key: "$args.${batchParam.arg}", matchOn: ${JSON.stringify(singular)} }`);
      }
    }

    const f: SdlField = { name: o.field, type: answer.type, args, notes, binding: b };
    const desc = typeof o.op.summary === 'string' ? o.op.summary : typeof o.op.description === 'string' ? o.op.description : undefined;
    if (desc) f.description = desc;
    if (o.op.deprecated === true) notes.unshift('the operation is deprecated');
    return f;
  }

  /** The whole input, or, when a top-level property was renamed, an object naming each wire name. */
  private bodyTemplate(arg: string, inputType: string | undefined, isList: boolean): string {
    const renames = inputType && !isList ? this.schemas.renames.get(inputType) : undefined;
    const t = inputType ? this.doc.types.find((x) => x.name === inputType) : undefined;
    if (!renames || !t) return `"$args.${arg}"`;
    const wire = new Map(renames.map((r) => r.split(': ') as [string, string]));
    return `{ ${t.fields.map((f) => `${JSON.stringify(wire.get(f.name) ?? f.name)}: "$args.${arg}.${f.name}"`).join(', ')} }`;
  }

  private answer(o: Operation, opName: string): string | { type: SdlField['type']; notes: string[]; objectType?: string; itemProps?: string[] } {
    const responses = isObject(o.op.responses) ? o.op.responses : {};
    const code = ANSWER_CODES.find((c) => responses[c] !== undefined);
    const res = code ? responses[code] : undefined;
    const c = isObject(res) ? jsonContent(res.content) : {};
    if (c.schema === undefined) {
      if (c.other !== undefined) return `it answers ${c.other}, not JSON`;
      return { type: named('Boolean'), notes: [`it answers without a JSON body${code ? ` (${code})` : ''}: the type is a placeholder`] };
    }
    const r = this.schemas.convert(c.schema, `${opName}Result`, 'output');
    if (!r.type) return `its answer: ${r.notes.join('; ')}`;
    const items = r.type.of && isObject(c.schema) && isObject(c.schema.items) && isObject(c.schema.items.properties) ? Object.keys(c.schema.items.properties) : undefined;
    return { type: r.type, notes: r.notes, ...(r.objectType ? { objectType: r.objectType } : {}), ...(items ? { itemProps: items } : {}) };
  }
}

/** The SDL document for the chosen operations of `api`. */
export function importOpenApi(api: OpenApiDocument, opts: OpenApiImportOptions): SdlDocument {
  const all = collectOperations(api.doc);
  let chosen = all;
  if (opts.only) {
    const wanted = new Set(opts.only);
    const unknown = opts.only.filter((w) => !all.some((o) => o.id === w || o.field === w));
    if (unknown.length > 0) {
      const known = all.map((o) => o.id);
      throw new ImportError(`${opts.label}: no operation ${unknown.map((u) => JSON.stringify(u)).join(', ')}; it has ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`);
    }
    chosen = all.filter((o) => wanted.has(o.id) || wanted.has(o.field));
  }
  const server = serverPath(api.doc);
  const imp = new OperationImporter(api, opts, server.path);
  const info = isObject(api.doc.info) ? api.doc.info : {};
  const title = typeof info.title === 'string' ? ` ${JSON.stringify(info.title)}` : '';
  const version = typeof info.version === 'string' ? ` ${info.version}` : '';
  imp.doc.header.push(
    `Imported by \`gateway import openapi\` from ${opts.label}:${title}${version} (OpenAPI ${String(api.doc.openapi)}).`,
    'A starting point: check names, nullability and bindings before adding it to schema/.',
    `Upstream ${JSON.stringify(opts.upstream)}: an http upstream in the config${server.url ? `; paths are written from the server ${server.url}` : ''}.`,
  );
  for (const o of chosen) {
    const r = imp.importOperation(o);
    if (typeof r === 'string') imp.doc.skipped.push(`${o.method} ${o.path} (${o.id}) because ${r}`);
    else (o.method === 'GET' ? imp.doc.query : imp.doc.mutation).push(r);
  }
  if (isObject(api.doc.webhooks) && Object.keys(api.doc.webhooks).length > 0) imp.doc.skipped.push('webhooks because the upstream calls them, not the gateway');
  return imp.doc;
}
