/**
 * The passthrough route table, compiled once at start-up: routes grouped by `match.host`, each
 * group a {@link PathTable}. Lookup cost grows with the number of host labels and path segments
 * (and distinct path regexes), not with the number of routes; without any `match.host` it is
 * one path-table lookup.
 */
import type { RouteConfig } from '../config/schema.js';
import { compileRewrite } from './rewrite.js';
import type { CompiledRoute } from '../http/route.js';
import { normalizePath } from '../http/normalize-path.js';
import { compilePathRegex } from '../http/path-regex.js';
import { parseRouteHost, wildcardable } from '../http/route-host.js';
import { NO_MATCH, PathTable, trimSlash, type RouteMatch, type RouteRequest } from './path-table.js';
import { compileHeaderOps } from './header-ops.js';
import { compileTransform } from './transform.js';

export type { CompiledRoute, HeaderOps } from '../http/route.js';
export type { RouteMatch, RouteRequest } from './path-table.js';

/** Route paths are compared with normalised request paths, so they are normalised too (`/app/%61dmin` is `/app/admin`). */
export function canonicalRoutePath(route: string, p: string): string {
  const n = normalizePath(p);
  if (n.reject !== undefined) throw new Error(`route "${route}": path ${p} is refused by path normalisation (${n.reject})`);
  return n.path;
}

export function compileRoute(config: RouteConfig): CompiledRoute {
  const exact = config.match.path !== undefined;
  const regex = config.match.pathRegex !== undefined ? compilePathRegex(config.match.pathRegex) : undefined;
  if (typeof regex === 'string') throw new Error(`route "${config.name}": match.pathRegex ${regex}`);
  const host = config.match.host !== undefined ? parseRouteHost(config.match.host) : undefined;
  if (typeof host === 'string') throw new Error(`route "${config.name}": match.host ${host}`);
  const methods = config.match.methods ? new Set(config.match.methods) : null;
  return {
    name: config.name,
    config,
    upstream: config.upstream,
    methods,
    allow: methods ? [...methods].join(', ') : '',
    headers: Object.entries(config.match.headers).map(([k, v]) => [k.toLowerCase(), v] as const),
    query: Object.entries(config.match.query),
    prefix: regex ? '' : trimSlash(canonicalRoutePath(config.name, exact ? config.match.path! : config.match.pathPrefix!)),
    exact,
    pathRegex: regex,
    host: host?.host,
    wildcardHost: host?.wildcard ?? false,
    rewrite: compileRewrite(config.rewrite),
    requestHeaders: compileHeaderOps(config.requestHeaders, 'request'),
    responseHeaders: compileHeaderOps(config.responseHeaders, 'response'),
    contentTypes: config.contentTypes ? new Set(config.contentTypes.map((t) => t.toLowerCase())) : null,
    grpcMethod: config.grpc ? config.grpc.method.slice(config.grpc.method.lastIndexOf('/') + 1) : undefined,
    grpcRepeated: new Set(config.grpc?.repeated ?? []),
    transform: compileTransform(config.transform),
  };
}

/**
 * Host groups first, then paths within the group (as Envoy picks a virtual host, then a route):
 * exact `match.host` > the longest matching `*.` wildcard > routes without a host. A group whose
 * routes do not match the path lets the next group try, so a route without a host is the
 * fallback for every host. Within a group see ./path-table.ts.
 */
export class RouteTable {
  readonly #anyHost = new PathTable();
  readonly #exactHosts = new Map<string, PathTable>();
  /** `.example.com` (from `*.example.com`) → its routes. */
  readonly #wildHosts = new Map<string, PathTable>();
  readonly size: number;
  /** Some route has `match.host`: the caller must pass the routing host. */
  readonly byHost: boolean;

  constructor(routes: RouteConfig[]) {
    for (const r of routes.map(compileRoute)) {
      let table = this.#anyHost;
      if (r.host !== undefined) {
        const hosts = r.wildcardHost ? this.#wildHosts : this.#exactHosts;
        table = hosts.get(r.host) ?? new PathTable();
        hosts.set(r.host, table);
      }
      table.add(r);
    }
    for (const t of [this.#anyHost, ...this.#exactHosts.values(), ...this.#wildHosts.values()]) t.seal();
    this.size = routes.length;
    this.byHost = this.#exactHosts.size + this.#wildHosts.size > 0;
  }

  /** The path tables that apply to a routing host, most specific first. */
  #tablesFor(host: string | undefined): PathTable[] {
    const out: PathTable[] = [];
    if (host !== undefined) {
      const exact = this.#exactHosts.get(host);
      if (exact) out.push(exact);
      if (this.#wildHosts.size > 0 && wildcardable(host)) {
        for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
          const t = this.#wildHosts.get(host.slice(dot));
          if (t) out.push(t);
        }
      }
    }
    out.push(this.#anyHost);
    return out;
  }

  /**
   * True when a (normalised) path falls under a route path only if letter case is ignored
   * (see {@link PathTable.caseConflict}), in any group that applies to the host.
   */
  caseConflict(path: string, host?: string): boolean {
    if (this.size === 0) return false;
    if (!this.byHost) return this.#anyHost.caseConflict(path);
    for (const t of this.#tablesFor(host)) if (t.caseConflict(path)) return true;
    return false;
  }

  /** Finds the route for a request: host group by group, the first route found wins. */
  match(req: RouteRequest): RouteMatch {
    if (this.size === 0) return NO_MATCH;
    if (!this.byHost) return this.#anyHost.match(req);
    let allow: string | undefined;
    for (const t of this.#tablesFor(req.host)) {
      const r = t.match(req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow ??= r.allow;
    }
    return allow !== undefined ? { kind: 'method-not-allowed', allow } : NO_MATCH;
  }
}
