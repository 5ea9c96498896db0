/**
 * A route's `requestHeaders` / `responseHeaders`, compiled once at start-up (names lower-cased,
 * templates parsed) and rendered per request without parsing anything. Operations apply in a
 * fixed order: remove, rename, add; other spellings of the names they touch (`X_Tenant`,
 * `x.internal`) are dropped, see `isShadowed`. What a route may not write (the gateway's own headers,
 * hop-by-hop, framing) is refused by the config check (src/config/transform-checks.ts); the
 * compiler refuses it again, for configs built without the loader.
 *
 * Which received headers pass at all is compiled too: `verdicts` holds the answer for every name
 * the rules know, and `passesHeader` decides any other name by the same rule, each time (nothing
 * is learnt from the names clients send).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { compileHeaderTemplate, type HeaderTemplate } from '../http/header-template.js';
import { HOP_BY_HOP, RESERVED_HEADERS, isReservedHeader, unwritableHeader } from '../http/reserved-headers.js';
import type { CompiledRoute, HeaderOps, HeaderSpellings } from '../http/route.js';

const SEPARATORS = /[_.]/g;

/** A header name as many servers read it: lower case, `_` and `.` as `-` (`X_Tenant` is `x-tenant`). */
export function foldHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.indexOf('_') === -1 && lower.indexOf('.') === -1 ? lower : lower.replace(SEPARATORS, '-');
}

/**
 * True when a received header (lower case) is another spelling of a name the route's operations
 * touch, and must not travel on: `remove: [x-internal]` also removes `x.internal`, and with
 * `add: { X-Tenant: acme }` the client's `X_Tenant: evil` does not reach an upstream that reads
 * `_` as `-`. The exact spellings keep their meaning (a rename source is renamed, not dropped).
 */
export function isShadowed(name: string, s: HeaderSpellings): boolean {
  const removed = s.folded.get(foldHeaderName(name));
  return removed === undefined ? false : removed || !s.exact.has(name);
}

/**
 * Whether a received header passes on (it may still be renamed or overwritten), by the rule:
 * hop-by-hop headers, names the operations remove and other spellings of the names they touch
 * are dropped; on requests also HTTP/2 pseudo-headers (`:path`; 58 is `:`) and the gateway's
 * reserved names in any spelling. The set checks read the name lower-cased (node lower-cases
 * what it parses; anything else is read as a server would), the exact-spelling check as given.
 */
function passesByRule(name: string, ops: Omit<HeaderOps, 'verdicts'>): boolean {
  const lower = name.toLowerCase();
  if (HOP_BY_HOP.has(lower) || ops.remove.has(lower)) return false;
  if (ops.direction === 'request' && (lower.charCodeAt(0) === 58 || isReservedHeader(lower))) return false;
  return ops.spellings === null || !isShadowed(name, ops.spellings);
}

/**
 * Whether a received header passes on: the compiled verdict for a name the rules know, else the
 * rule. A name in lower case without `_`, `.` or `:` that the table lacks passes without more work:
 * the table holds every such name the rule drops (each hop-by-hop and reserved name, each name the
 * operations remove or touch, and each of their folded spellings).
 */
export function passesHeader(name: string, ops: HeaderOps): boolean {
  const v = ops.verdicts.get(name);
  if (v !== undefined) return v;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // `_` `.` `:` and A-Z: another spelling of a known name, perhaps, or a pseudo-header.
    if (c === 95 || c === 46 || c === 58 || (c >= 65 && c <= 90)) return passesByRule(name, ops);
  }
  return true;
}

/** Headers nearly every request carries: in the table too, so that a typical request is all look-ups. */
const COMMON_REQUEST = [
  'accept', 'accept-encoding', 'accept-language', 'user-agent', 'cookie', 'authorization', 'cache-control',
  'content-type', 'content-length', 'origin', 'referer', 'if-none-match', 'if-modified-since', 'pragma', 'priority',
  'sec-fetch-dest', 'sec-fetch-mode', 'sec-fetch-site', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
];
/** Headers nearly every response carries. */
const COMMON_RESPONSE = [
  'content-type', 'content-length', 'content-encoding', 'date', 'server', 'cache-control', 'etag', 'last-modified',
  'vary', 'expires', 'set-cookie', 'location', 'age',
];

/** The operations with their verdict table: every name the rules of `direction` know, decided once. */
function withVerdicts(ops: Omit<HeaderOps, 'verdicts' | 'direction'>, direction: 'request' | 'response'): HeaderOps {
  const rules = { remove: ops.remove, add: ops.add, rename: ops.rename, render: ops.render, spellings: ops.spellings, direction };
  const names = new Set<string>(HOP_BY_HOP);
  for (const n of direction === 'request' ? COMMON_REQUEST : COMMON_RESPONSE) names.add(n);
  if (direction === 'request') for (const n of RESERVED_HEADERS) names.add(n);
  for (const n of ops.remove) names.add(n);
  if (ops.spellings !== null) {
    for (const n of ops.spellings.exact) names.add(n);
    for (const n of ops.spellings.folded.keys()) names.add(n);
  }
  const verdicts = new Map<string, boolean>();
  for (const n of names) verdicts.set(n, passesByRule(n, rules));
  return { remove: rules.remove, add: rules.add, rename: rules.rename, render: rules.render, spellings: rules.spellings, direction, verdicts };
}

function spellingsOf(remove: ReadonlySet<string>, touched: Iterable<string>): HeaderSpellings | null {
  const folded = new Map<string, boolean>();
  const exact = new Set<string>();
  for (const name of touched) {
    exact.add(name);
    folded.set(foldHeaderName(name), false);
  }
  for (const name of remove) folded.set(foldHeaderName(name), true);
  return folded.size ? { folded, exact } : null;
}

/** A route without `requestHeaders` / `responseHeaders`: only the rules of the direction apply. */
const NO_REQUEST_OPS = withVerdicts({ remove: new Set(), add: [], rename: null, render: null, spellings: null }, 'request');
const NO_RESPONSE_OPS = withVerdicts({ remove: new Set(), add: [], rename: null, render: null, spellings: null }, 'response');

export function compileHeaderOps(ops: RouteConfig['requestHeaders'], direction: 'request' | 'response'): HeaderOps {
  if (!ops) return direction === 'request' ? NO_REQUEST_OPS : NO_RESPONSE_OPS;
  const add: Array<readonly [string, string]> = [];
  const render: Array<readonly [string, HeaderTemplate]> = [];
  const writable = (name: string): string => {
    const lower = name.toLowerCase();
    const why = unwritableHeader(lower, direction);
    if (why) throw new Error(`${name} cannot be written by a route: ${why}`);
    return lower;
  };
  for (const [name, value] of Object.entries(ops.add)) {
    const t = compileHeaderTemplate(value, direction);
    if (typeof t === 'string') add.push([writable(name), t]);
    else if ('error' in t) throw new Error(`${direction} header ${name}: ${t.error}`);
    else render.push([writable(name), t]);
  }
  const rename = new Map<string, string>();
  for (const [from, to] of Object.entries(ops.rename ?? {})) rename.set(writable(from), writable(to));
  const remove = new Set(ops.remove.map((h) => h.toLowerCase()));
  const touched = [...add.map(([n]) => n), ...render.map(([n]) => n), ...rename.keys(), ...rename.values()];
  return withVerdicts({
    remove,
    add,
    rename: rename.size ? rename : null,
    render: render.length ? render : null,
    spellings: spellingsOf(remove, touched),
  }, direction);
}

/** The first value of a request header, or ''. */
function requestHeader(ctx: RequestContext, name: string): string {
  const v = ctx.req.headers[name];
  return v === undefined ? '' : Array.isArray(v) ? (v[0] ?? '') : v;
}

/** A template's value for this request (`status`: the upstream's, on the response side). */
export function renderTemplate(t: HeaderTemplate, ctx: RequestContext, route: CompiledRoute, status: number): string {
  let out = '';
  for (const part of t) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    switch (part.kind) {
      case 'request.id': out += ctx.id; break;
      case 'request.method': out += ctx.method; break;
      case 'request.path': out += ctx.normalizedPath?.path ?? ctx.path; break;
      case 'request.latencyMs': out += (performance.now() - ctx.startedAt).toFixed(1); break;
      case 'client.ip': out += ctx.ip; break;
      case 'client.id': out += ctx.identity?.clientId ?? ctx.ip; break;
      case 'route.name': out += route.name; break;
      case 'upstream.name': out += route.upstream; break;
      case 'upstream.status': out += status; break;
      case 'request.header': out += requestHeader(ctx, part.header); break;
    }
  }
  return out;
}

/** Moves each renamed header to its new name (the renamed value wins over one already there). */
export function applyRenames(out: Record<string, unknown>, rename: ReadonlyMap<string, string>): void {
  for (const [from, to] of rename) {
    if (out[from] === undefined) continue;
    out[to] = out[from];
    delete out[from];
  }
}

/** Sets the templated values of `ops` on `out`. */
export function applyRendered(out: OutgoingHttpHeaders | Record<string, string | string[]>, ops: HeaderOps, ctx: RequestContext, route: CompiledRoute, status: number): void {
  for (const [name, t] of ops.render!) out[name] = renderTemplate(t, ctx, route, status);
}
