/**
 * The shape of a passthrough route once compiled (src/proxy/route-table.ts compiles it at start-up).
 * It lives with the request's core types because the request context names the route it addresses.
 */
import type { RouteConfig } from '../config/schema.js';
import type { HeaderTemplate } from './header-template.js';

/** Maps the matched (normalised) path to the upstream path. */
export type RewritePath = (path: string) => string;

/**
 * `requestHeaders` / `responseHeaders`, compiled: lower-cased names to drop, then to rename, then
 * pairs to set (plain values in `add`, values with variables in `render`).
 */
export interface HeaderOps {
  readonly remove: ReadonlySet<string>;
  readonly add: ReadonlyArray<readonly [string, string]>;
  /** Source → target name, or null when the route renames nothing. */
  readonly rename: ReadonlyMap<string, string> | null;
  /** Values with variables, or null when there are none. */
  readonly render: ReadonlyArray<readonly [string, HeaderTemplate]> | null;
  /**
   * Other spellings of the names the operations touch (./header-ops.ts `isShadowed`), or null
   * when the route has no operations.
   */
  readonly spellings: HeaderSpellings | null;
  /**
   * Verdicts compiled with the operations: header name → passes as it is (true) or is dropped,
   * for every name the rules know (hop-by-hop, on requests the gateway's reserved names, and the
   * names and folded spellings the operations touch). A name not in it is decided by the rule
   * (./header-ops.ts `passesHeader`); the table never grows after compilation.
   */
  readonly verdicts: ReadonlyMap<string, boolean>;
  /** Which way the headers travel: reserved names and pseudo-headers are dropped on requests only. */
  readonly direction: 'request' | 'response';
}

/** Names in their folded form (lower case, `_` and `.` read as `-`). */
export interface HeaderSpellings {
  /** Folded name → true when `remove` names it (then every spelling goes). */
  readonly folded: ReadonlyMap<string, boolean>;
  /** The names as the operations spell them (lower case): these keep the usual remove/rename/add meaning. */
  readonly exact: ReadonlySet<string>;
}

/** `transform.request.query`, compiled. Names are compared decoded. */
export interface QueryOps {
  readonly remove: ReadonlySet<string>;
  /** Source → target name, decoded. */
  readonly rename: ReadonlyMap<string, string>;
  /** Source → target name as written into the query string (percent-encoded). */
  readonly renameRaw: ReadonlyMap<string, string>;
  /** Name → value, both percent-encoded for the query string. */
  readonly add: ReadonlyArray<readonly [string, string]>;
  /** The added names, decoded: what the client sent under them is replaced. */
  readonly addNames: ReadonlySet<string>;
}

/** A JSONata expression compiled once; evaluation is bounded in time and depth. */
export interface BodyMapping {
  /** The expression's text, for messages. */
  readonly source: string;
  evaluate(input: unknown, bindings: Record<string, unknown>): Promise<unknown>;
}

/** `routes[].transform`, compiled (src/proxy/transform.ts). */
export interface RouteTransform {
  readonly query: QueryOps | null;
  readonly requestBody: BodyMapping | null;
  readonly responseBody: BodyMapping | null;
  /** Larger bodies (declared, or read that far) cannot be mapped. */
  readonly maxBodyBytes: number;
  /** A request body the route cannot map is refused (413/415) unless this is true (`onUnmappable: pass`). */
  readonly passUnmappable: boolean;
  /** Forward a JSON answer that cannot be mapped as it is (else 502 TRANSFORM_FAILED). */
  readonly passUnmappableResponse: boolean;
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
  /** Query and JSON body mappings, or null for a route without `transform` (the common case costs one check). */
  readonly transform: RouteTransform | null;
}
