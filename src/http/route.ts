/**
 * The shape of a passthrough route once compiled (src/proxy/route-table.ts compiles it at start-up).
 * It lives with the request's core types because the request context names the route it addresses.
 */
import type { RouteConfig } from '../config/schema.js';

/** Maps the matched (normalised) path to the upstream path. */
export type RewritePath = (path: string) => string;

/** `requestHeaders` / `responseHeaders`, compiled: lower-cased names to drop, pairs to set. */
export interface HeaderOps {
  readonly remove: ReadonlySet<string>;
  readonly add: ReadonlyArray<readonly [string, string]>;
}

export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly upstream: string;
  /** Upper-case methods, or null for any. */
  readonly methods: ReadonlySet<string> | null;
  /** `Allow` header value when methods are restricted. */
  readonly allow: string;
  /** Lower-cased header name → required value. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** The prefix (or exact path) this route was registered under, without a trailing slash ('' for a regex route). */
  readonly prefix: string;
  readonly exact: boolean;
  /** `match.pathRegex`, anchored (`^(?:…)$`), or undefined. */
  readonly pathRegex: RegExp | undefined;
  /** `match.host` compared form: `api.example.com`, or `.example.com` for `*.example.com`; undefined: any host. */
  readonly host: string | undefined;
  readonly wildcardHost: boolean;
  /** Maps the matched (normalised) path to the upstream path. */
  readonly rewrite: RewritePath;
  readonly requestHeaders: HeaderOps;
  readonly responseHeaders: HeaderOps;
  /** Accepted request media types (lower-case, no parameters), or null for any. */
  readonly contentTypes: ReadonlySet<string> | null;
  /** REST → gRPC: the method name within the upstream's service, or undefined for HTTP routes. */
  readonly grpcMethod: string | undefined;
  /** Query parameters split on commas into repeated fields (gRPC routes). */
  readonly grpcRepeated: ReadonlySet<string>;
}
