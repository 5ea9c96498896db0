/**
 * The passthrough route table, compiled once at start-up. Lookup cost grows with the number
 * of path segments, not with the number of routes: exact paths are one Map hit, prefixes are
 * tried from the longest segment boundary down, each one Map hit.
 */
import type { RouteConfig } from '../config/schema.js';
import { compileRewrite } from './rewrite.js';
import type { CompiledRoute, HeaderOps } from '../http/route.js';

export type { CompiledRoute, HeaderOps } from '../http/route.js';
import { normalizePath } from '../http/normalize-path.js';

const NO_OPS: HeaderOps = { remove: new Set(), add: [] };

function compileHeaderOps(ops: RouteConfig['requestHeaders']): HeaderOps {
  if (!ops) return NO_OPS;
  return {
    remove: new Set(ops.remove.map((h) => h.toLowerCase())),
    add: Object.entries(ops.add).map(([k, v]) => [k.toLowerCase(), v] as const),
  };
}


export type RouteMatch =
  | { kind: 'route'; route: CompiledRoute }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'none' };

const NONE: RouteMatch = { kind: 'none' };

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Route paths are compared with normalised request paths, so they are normalised too (`/app/%61dmin` is `/app/admin`). */
export function canonicalRoutePath(route: string, p: string): string {
  const n = normalizePath(p);
  if (n.reject !== undefined) throw new Error(`route "${route}": path ${p} is refused by path normalisation (${n.reject})`);
  return n.path;
}

export function compileRoute(config: RouteConfig): CompiledRoute {
  const exact = config.match.path !== undefined;
  const methods = config.match.methods ? new Set(config.match.methods) : null;
  return {
    name: config.name,
    config,
    upstream: config.upstream,
    methods,
    allow: methods ? [...methods].join(', ') : '',
    headers: Object.entries(config.match.headers).map(([k, v]) => [k.toLowerCase(), v] as const),
    query: Object.entries(config.match.query),
    prefix: trimSlash(canonicalRoutePath(config.name, exact ? config.match.path! : config.match.pathPrefix!)),
    exact,
    rewrite: compileRewrite(config.rewrite),
    requestHeaders: compileHeaderOps(config.requestHeaders),
    responseHeaders: compileHeaderOps(config.responseHeaders),
    contentTypes: config.contentTypes ? new Set(config.contentTypes.map((t) => t.toLowerCase())) : null,
    grpcMethod: config.grpc ? config.grpc.method.slice(config.grpc.method.lastIndexOf('/') + 1) : undefined,
    grpcRepeated: new Set(config.grpc?.repeated ?? []),
  };
}

export interface RouteRequest {
  method: string;
  /** Normalised path, no query. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed query, only consulted when a candidate route has query conditions. */
  query: () => URLSearchParams;
}

export class RouteTable {
  readonly #exact = new Map<string, CompiledRoute[]>();
  readonly #prefix = new Map<string, CompiledRoute[]>();
  /** Lower-cased route path → its spelling, for {@link caseConflict}. */
  readonly #foldedExact = new Map<string, string>();
  readonly #foldedPrefix = new Map<string, string>();
  readonly #upperInRoutes: boolean;
  readonly size: number;

  constructor(routes: RouteConfig[]) {
    for (const r of routes.map(compileRoute)) {
      const table = r.exact ? this.#exact : this.#prefix;
      const list = table.get(r.prefix) ?? [];
      list.push(r);
      table.set(r.prefix, list);
      (r.exact ? this.#foldedExact : this.#foldedPrefix).set(r.prefix.toLowerCase(), r.prefix);
    }
    this.#upperInRoutes = routes.length > 0 && [...this.#exact.keys(), ...this.#prefix.keys()].some((p) => p !== p.toLowerCase());
    // Among routes on the same path, the more specific (more header/query conditions, then a
    // method list) is tried first; equal ones keep their config order (Array#sort is stable).
    for (const list of [...this.#exact.values(), ...this.#prefix.values()]) list.sort((a, b) => specificity(b) - specificity(a));
    this.size = routes.length;
  }

  /**
   * True when a (normalised) path falls under a route path only if letter case is ignored:
   * `/app/ADMIN` with routes `/app` and `/app/admin`. Express and ASP.NET route without regard
   * to case, so such a path would be chosen by one route here and served by another upstream.
   */
  caseConflict(path: string): boolean {
    if (this.size === 0) return false;
    const lower = path.toLowerCase();
    if (lower === path && !this.#upperInRoutes) return false;
    const p = trimSlash(path);
    const l = trimSlash(lower);
    const exact = this.#foldedExact.get(l);
    if (exact !== undefined && exact !== p) return true;
    for (let end = l.length; end > 0; end = l.lastIndexOf('/', end - 1)) {
      const spelled = this.#foldedPrefix.get(end === l.length ? l : l.slice(0, end));
      if (spelled !== undefined && spelled !== p.slice(0, end)) return true;
    }
    return false;
  }

  /** Finds the route for a request: exact first, then the longest matching prefix. */
  match(req: RouteRequest): RouteMatch {
    if (this.size === 0) return NONE;
    let allow: string | undefined;
    const path = trimSlash(req.path);
    const exact = this.#exact.get(path);
    if (exact) {
      const r = pick(exact, req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow = r.allow;
    }
    let end = path.length;
    while (end > 0) {
      const candidates = this.#prefix.get(end === path.length ? path : path.slice(0, end));
      if (candidates) {
        const r = pick(candidates, req);
        if (r.kind === 'route') return r;
        if (r.kind === 'method-not-allowed') allow ??= r.allow;
      }
      end = path.lastIndexOf('/', end - 1);
    }
    const root = this.#prefix.get('/');
    if (root && path !== '/') {
      const r = pick(root, req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow ??= r.allow;
    }
    return allow !== undefined ? { kind: 'method-not-allowed', allow } : NONE;
  }
}

function specificity(r: CompiledRoute): number {
  return (r.headers.length + r.query.length) * 2 + (r.methods ? 1 : 0);
}

function pick(candidates: CompiledRoute[], req: RouteRequest): RouteMatch {
  let allow: string | undefined;
  let params: URLSearchParams | undefined;
  outer: for (const r of candidates) {
    for (const [name, value] of r.headers) {
      if (req.headers[name] !== value) continue outer;
    }
    if (r.query.length) {
      params ??= req.query();
      for (const [name, value] of r.query) if (params.get(name) !== value) continue outer;
    }
    if (r.methods && !r.methods.has(req.method)) {
      allow = allow ? `${allow}, ${r.allow}` : r.allow;
      continue;
    }
    return { kind: 'route', route: r };
  }
  return allow !== undefined ? { kind: 'method-not-allowed', allow } : NONE;
}
