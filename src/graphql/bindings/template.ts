/**
 * Binding templates, parsed once at composition into a small tree and evaluated per call.
 *
 * A reference is `$args.<path>`, `$parent.<path>`, `$identity.sub`, `$identity.roles`,
 * `$identity.claims.<name>` or `$config.<name>`. In text (path, query values, header values,
 * JSON strings) it is written `{$ref}`; in JSON a string that is exactly `"$ref"` stands for
 * the value with its JSON type. `$config` values are known at composition and folded in.
 */
import { BadRequest } from '../../errors.js';
import type { Identity } from '../../context.js';

export type RefSource = 'args' | 'parent' | 'identity' | 'config';

export interface Ref {
  readonly source: RefSource;
  readonly path: readonly string[];
  /** As written, e.g. `$args.id` (for messages). */
  readonly text: string;
}

/** A problem in a template, found at composition. */
export class TemplateError extends Error {}

/** What a reference reads at run time. */
export interface TemplateInput {
  args: Record<string, unknown>;
  parent: unknown;
  identity: Identity | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `$source.path`; throws TemplateError. `config` maps `$config` names to values. */
export function parseRef(text: string): Ref {
  if (!text.startsWith('$')) throw new TemplateError(`"${text}" is not a reference ($args., $parent., $identity., $config.)`);
  const parts = text.slice(1).split('.');
  const source = parts[0] as RefSource;
  const path = parts.slice(1);
  if (source !== 'args' && source !== 'parent' && source !== 'identity' && source !== 'config') {
    throw new TemplateError(`unknown reference "${text}": use $args., $parent., $identity. or $config.`);
  }
  if (path.length === 0 || path.some((p) => !NAME.test(p))) throw new TemplateError(`malformed reference "${text}": expected ${'$'}${source}.name(.name…)`);
  if (source === 'identity') {
    const ok = (path.length === 1 && (path[0] === 'sub' || path[0] === 'roles')) || (path.length === 2 && path[0] === 'claims');
    if (!ok) throw new TemplateError(`unknown reference "${text}": $identity has sub, roles and claims.<name>`);
  }
  if (source === 'config' && path.length !== 1) throw new TemplateError(`malformed reference "${text}": $config.<name> has one name`);
  return { source, path, text };
}

function own(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Reads a dot path inside a value (own properties only); undefined when absent. */
export function readPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (let i = 0; i < path.length && v !== undefined; i++) v = own(v, path[i]!);
  return v;
}

/** The value a reference stands for (null when absent). `$config` never reaches here (folded). */
export function evaluateRef(ref: Ref, input: TemplateInput): unknown {
  let v: unknown;
  switch (ref.source) {
    case 'args':
      v = readPath(input.args, ref.path);
      break;
    case 'parent':
      v = readPath(input.parent, ref.path);
      break;
    case 'identity': {
      const id = input.identity;
      if (!id || id.kind === 'anonymous') return ref.path[0] === 'roles' ? [] : null;
      if (ref.path[0] === 'sub') v = id.subject;
      else if (ref.path[0] === 'roles') v = id.roles;
      else v = own(id.claims, ref.path[1]!);
      break;
    }
    default:
      v = undefined;
  }
  return v === undefined ? null : v;
}

/** A text with `{$ref}` holes: literal strings and references, alternating as written. */
export type TextParts = ReadonlyArray<string | Ref>;

export { encode as encodeComponent };

/** Splits `a{$args.x}b` into parts; `$config` references become literal text. */
export function parseText(text: string, config: ConfigLookup): TextParts {
  const parts: Array<string | Ref> = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{$', i);
    if (open === -1) {
      literal += text.slice(i);
      break;
    }
    const close = text.indexOf('}', open);
    if (close === -1) throw new TemplateError(`unclosed "{$" in "${text}"`);
    literal += text.slice(i, open);
    const ref = parseRef(text.slice(open + 1, close));
    if (ref.source === 'config') literal += config(ref);
    else {
      if (literal) parts.push(literal);
      literal = '';
      parts.push(ref);
    }
    i = close + 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** Looks up a `$config` value at composition (throws TemplateError for an unknown name). */
export type ConfigLookup = (ref: Ref) => string;

export function refsOfText(parts: TextParts): Ref[] {
  return parts.filter((p): p is Ref => typeof p !== 'string');
}

/** A UTF-16 surrogate without its partner: such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** encodeURIComponent, refusing a string with a lone surrogate (it has no UTF-8 form). */
function encode(text: string): string {
  if (LONE_SURROGATE.test(text)) throw BadRequest('a value with a lone surrogate cannot be sent upstream');
  return encodeURIComponent(text);
}

/** A value as text for a path, query or header; lists and objects are refused. */
function scalarText(value: unknown, ref: Ref, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw BadRequest(`${ref.text} is ${Array.isArray(value) ? 'a list' : 'an object'} and cannot be ${where}`);
}

// ---------------------------------------------------------------------------------------------
// Paths: `/users/{$args.id}/orders?status={$args.status}&limit=10`

interface QueryParam {
  /** Already encoded `name=` (or `name` for a bare flag). */
  readonly prefix: string;
  readonly value: TextParts | null;
}

export interface PathTemplate {
  /** Path segments after the leading `/`, each a sequence of parts. */
  readonly segments: readonly TextParts[];
  readonly query: readonly QueryParam[];
  readonly refs: readonly Ref[];
  /** No reference anywhere: the path is this string. */
  readonly constant: string | undefined;
}

const UNSAFE_LITERAL = /[\s#\\\u0000-\u001f\u007f-\uffff]/;
const DOT = /^(?:\.|%2e){1,2}$/i;

export function parsePath(text: string, config: ConfigLookup): PathTemplate {
  if (!text.startsWith('/')) throw new TemplateError('path must start with /');
  const q = text.indexOf('?');
  const pathPart = q === -1 ? text : text.slice(0, q);
  const queryPart = q === -1 ? '' : text.slice(q + 1);
  const segments = pathPart.slice(1).split('/').map((s) => {
    const parts = parseText(s, config);
    for (const p of parts) {
      if (typeof p === 'string' && UNSAFE_LITERAL.test(p)) throw new TemplateError(`unsafe character in path "${text}"`);
    }
    if (parts.length === 1 && typeof parts[0] === 'string' && DOT.test(parts[0])) throw new TemplateError(`dot segment in path "${text}"`);
    return parts;
  });
  const query: QueryParam[] = [];
  if (queryPart) {
    for (const pair of queryPart.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      if (!name || name.includes('{$')) throw new TemplateError(`query parameter names must be literal in "${text}"`);
      if (UNSAFE_LITERAL.test(name)) throw new TemplateError(`unsafe character in path "${text}"`);
      const value = eq === -1 ? null : parseText(pair.slice(eq + 1), config);
      for (const p of value ?? []) {
        if (typeof p === 'string' && UNSAFE_LITERAL.test(p)) throw new TemplateError(`unsafe character in path "${text}"`);
      }
      query.push({ prefix: eq === -1 ? name : `${name}=`, value });
    }
  }
  const refs = [...segments.flatMap(refsOfText), ...query.flatMap((p) => (p.value ? refsOfText(p.value) : []))];
  const constant = refs.length === 0 ? renderPath({ segments, query, refs, constant: undefined }, null as never, '') : undefined;
  return { segments, query, refs, constant };
}

/**
 * The path with every value encoded: a value stays inside its path segment or its query
 * component whatever it holds (`/`, `?`, `&`, `#`, `%`, `..` included). A null in the path
 * fails the call; a null in a query value leaves that parameter out.
 */
export function renderPath(t: PathTemplate, input: TemplateInput, field: string, extraQuery?: string): string {
  if (t.constant !== undefined && extraQuery === undefined) return t.constant;
  let out = '';
  for (const seg of t.segments) {
    let s = '';
    const wholeRef = seg.length === 1 && typeof seg[0] !== 'string';
    for (const p of seg) {
      if (typeof p === 'string') s += p;
      else {
        const v = evaluateRef(p, input);
        if (v === null) throw BadRequest(`${field}: ${p.text} is null and cannot be an upstream path segment`);
        s += encode(scalarText(v, p, 'an upstream path segment'));
      }
    }
    if (wholeRef && s === '') throw BadRequest(`${field}: an empty value cannot be an upstream path segment`);
    // encodeURIComponent leaves `.` alone: a value that is all dots would be a dot segment.
    if (s === '.' || s === '..') s = s === '.' ? '%2E' : '%2E%2E';
    out += `/${s}`;
  }
  let query = '';
  for (const param of t.query) {
    let v = '';
    if (param.value) {
      let skip = false;
      for (const p of param.value) {
        if (typeof p === 'string') v += p;
        else {
          const value = evaluateRef(p, input);
          if (value === null) {
            skip = true;
            break;
          }
          v += Array.isArray(value) ? value.map((e) => encode(scalarText(e, p, 'a query value'))).join(',') : encode(scalarText(value, p, 'a query value'));
        }
      }
      if (skip) continue;
    }
    query += (query ? '&' : '') + param.prefix + v;
  }
  if (extraQuery) query += (query ? '&' : '') + extraQuery;
  return query ? `${out}?${query}` : out;
}

// ---------------------------------------------------------------------------------------------
// Headers: "X-Tenant: {$identity.claims.tenant}"

export interface HeaderTemplate {
  /** Lower-cased. */
  readonly name: string;
  readonly value: TextParts;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseHeader(text: string, config: ConfigLookup): HeaderTemplate {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (!TOKEN.test(name)) throw new TemplateError(`header "${text}" must be "Name: value"`);
  const value = parseText(text.slice(colon + 1).trim(), config);
  for (const p of value) {
    if (typeof p === 'string' && /[\r\n\0]/.test(p)) throw new TemplateError(`header "${name}" has a line break`);
  }
  return { name: name.toLowerCase(), value };
}

/** The header's value, or undefined when a reference in it is null (the header is left out). */
export function renderHeader(h: HeaderTemplate, input: TemplateInput, field: string): string | undefined {
  let v = '';
  for (const p of h.value) {
    if (typeof p === 'string') v += p;
    else {
      const value = evaluateRef(p, input);
      if (value === null) return undefined;
      v += Array.isArray(value) ? value.map((e) => scalarText(e, p, `header ${h.name}`)).join(',') : scalarText(value, p, `header ${h.name}`);
    }
  }
  if (/[\r\n\0]/.test(v)) throw BadRequest(`${field}: a value for header ${h.name} holds a line break`);
  if (LONE_SURROGATE.test(v)) throw BadRequest(`${field}: a value for header ${h.name} has a lone surrogate`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// JSON bodies and gRPC requests

export type JsonTemplate =
  | { readonly kind: 'const'; readonly value: unknown }
  | { readonly kind: 'ref'; readonly ref: Ref }
  | { readonly kind: 'text'; readonly parts: TextParts }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, JsonTemplate]> }
  | { readonly kind: 'array'; readonly items: readonly JsonTemplate[] };

export function parseJsonTemplate(text: string, config: ConfigLookup): JsonTemplate {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TemplateError(`not JSON: ${(err as Error).message}`);
  }
  return compileJson(json, config);
}

/** `"$args"`, `"$parent.a b"`: meant as references, malformed (parseRef says why). */
const LOOKS_LIKE_REF = /^\$(?:args|parent|identity|config)(?:\.|$)/;
const WHOLE_REF = /^\$(?:args|parent|identity|config)(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

function compileJson(value: unknown, config: ConfigLookup): JsonTemplate {
  if (typeof value === 'string') {
    if (WHOLE_REF.test(value) || LOOKS_LIKE_REF.test(value)) {
      const ref = parseRef(value);
      return ref.source === 'config' ? { kind: 'const', value: config(ref) } : { kind: 'ref', ref };
    }
    if (!value.includes('{$')) return { kind: 'const', value };
    const parts = parseText(value, config);
    return parts.every((p) => typeof p === 'string') ? { kind: 'const', value: parts.join('') } : { kind: 'text', parts };
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => compileJson(v, config));
    return items.every((i) => i.kind === 'const') ? { kind: 'const', value } : { kind: 'array', items };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compileJson(v, config)] as const);
    if (entries.every(([, t]) => t.kind === 'const')) return { kind: 'const', value: Object.fromEntries(entries.map(([k, t]) => [k, (t as { value: unknown }).value])) };
    return { kind: 'object', entries };
  }
  return { kind: 'const', value };
}

export function refsOfJson(t: JsonTemplate): Ref[] {
  switch (t.kind) {
    case 'ref':
      return [t.ref];
    case 'text':
      return refsOfText(t.parts);
    case 'object':
      return t.entries.flatMap(([, v]) => refsOfJson(v));
    case 'array':
      return t.items.flatMap(refsOfJson);
    default:
      return [];
  }
}

/** A fresh value (constants are copied: the batch form may add its keys to the result). */
export function renderJson(t: JsonTemplate, input: TemplateInput): unknown {
  switch (t.kind) {
    case 'const':
      return t.value !== null && typeof t.value === 'object' ? structuredClone(t.value) : t.value;
    case 'ref':
      return evaluateRef(t.ref, input);
    case 'text': {
      let s = '';
      for (const p of t.parts) {
        if (typeof p === 'string') s += p;
        else {
          const v = evaluateRef(p, input);
          if (v !== null) s += typeof v === 'object' ? JSON.stringify(v) : String(v);
        }
      }
      return s;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of t.entries) out[k] = renderJson(v, input);
      return out;
    }
    case 'array':
      return t.items.map((i) => renderJson(i, input));
  }
}
