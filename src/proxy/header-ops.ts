/**
 * A route's `requestHeaders` / `responseHeaders`, compiled once at start-up (names lower-cased,
 * templates parsed) and rendered per request without parsing anything. Operations apply in a
 * fixed order: remove, rename, add; other spellings of the names they touch (`X_Tenant`,
 * `x.internal`) are dropped, see `isShadowed`. What a route may not write (the gateway's own headers,
 * hop-by-hop, framing) is refused by the config check (src/config/transform-checks.ts); the
 * compiler refuses it again, for configs built without the loader.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { compileHeaderTemplate, type HeaderTemplate } from '../http/header-template.js';
import { unwritableHeader } from '../http/reserved-headers.js';
import type { CompiledRoute, HeaderOps, HeaderSpellings } from '../http/route.js';

export const NO_HEADER_OPS: HeaderOps = { remove: new Set(), add: [], rename: null, render: null, spellings: null };

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

export function compileHeaderOps(ops: RouteConfig['requestHeaders'], direction: 'request' | 'response'): HeaderOps {
  if (!ops) return NO_HEADER_OPS;
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
  return {
    remove,
    add,
    rename: rename.size ? rename : null,
    render: render.length ? render : null,
    spellings: spellingsOf(remove, touched),
  };
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
