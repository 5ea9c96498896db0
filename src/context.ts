/**
 * Per-request state. One instance per HTTP request, created by the server and dropped when
 * the response ends: identity, deadline, the matched route, DataLoaders and what the access
 * log reports all live here, never in module-level maps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledRoute } from './http/route.js';
import type { NormalizedPath } from './http/normalize-path.js';

/** Who is calling, as established by the identity plugin. */
export interface Identity {
  /** `session`: a browser session cookie (auth.oidc); `token`: an opaque bearer token (auth.introspection). */
  kind: 'jwt' | 'apiKey' | 'mtls' | 'session' | 'token' | 'anonymous';
  /** JWT `sub`, the API key's owner, or the client certificate's subject (mTLS). */
  subject: string | undefined;
  roles: string[];
  /** The rate-limit and logging key: JWT `sub`, else API-key owner, else client IP. */
  clientId: string;
  /** Verified JWT claims, when the identity came from a token. */
  claims: Record<string, unknown> | undefined;
  /** A session's access token: upstream calls carry it as `Authorization: Bearer`. */
  accessToken?: string;
}

/** The forwarding chain the client-ip plugin believed, in X-Forwarded-For order. */
export interface ForwardedChain {
  /** The client first, then each trusted proxy, the socket peer last; every entry a canonical IP. */
  readonly hops: readonly string[];
  /** Whether the socket peer is a trusted proxy (only then are its X-Forwarded-Proto/Host believed). */
  readonly peerTrusted: boolean;
}

/** The first rate-limit refusal of a request. */
export interface RateLimitedMark {
  clientId: string;
  route: string;
  /** Which window refused: `global`, `perClient`, `route`, or `field:Type.field`. */
  limit: string;
}

/**
 * A per-request slot a plugin declares once, with its type (as Fastify's `decorateRequest` does):
 * `const SPAN = new StateKey<Span>('tracing.span')`, then `ctx.set(SPAN, span)` / `ctx.get(SPAN)`.
 */
export class StateKey<T> {
  declare readonly type: T;
  static #count = 0;
  readonly name: string;
  /** Slot index in a request's value array: keys are few and made at start-up, so a small array serves. */
  readonly index = StateKey.#count++;

  constructor(name: string) {
    this.name = name;
  }
}

/** What the request is addressed to, decided by the router before the plugin chain runs. */
export type RequestTarget =
  | { kind: 'graphql' }
  | { kind: 'route'; route: CompiledRoute }
  | { kind: 'internal'; path: string; serve: (ctx: RequestContext) => Promise<void> }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'none' };

export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `performance.now()` at arrival. */
  readonly startedAt: number;
  /** The request id echoed in `X-Request-Id` and sent upstream. */
  id = '';
  readonly method: string;
  /** The raw path, without the query string. */
  readonly path: string;
  /**
   * The raw query string without `?`, or ''. The identity plugin removes the API-key query
   * parameter from it (`auth.apiKeys.queryParam`); everything later (forwarding, cache key) reads this.
   */
  query: string;
  /** {@link path} normalised once by the router (src/proxy/normalize-path.ts); everything is matched on it. */
  normalizedPath: NormalizedPath | undefined = undefined;
  /** The client's address (from X-Forwarded-For when `server.trustProxy` is on). */
  ip = '';
  /** Set by the client-ip plugin; undefined when it did not run. */
  forwarded: ForwardedChain | undefined = undefined;
  target: RequestTarget = { kind: 'none' };
  /** Metrics/log label for the route: `graphql`, a route name, `internal` or `unmatched`. */
  routeLabel = 'unmatched';
  identity: Identity | undefined = undefined;
  /** Absolute deadline (Date.now() clock) for all upstream work of this request. */
  deadline = Number.POSITIVE_INFINITY;
  /** The request body, when the gateway had to read it (GraphQL POST). */
  body: Buffer | undefined = undefined;
  /** This request's DataLoaders by definition (src/graphql/define-loader.ts), created on first use. */
  loaders: Map<object, unknown> | undefined = undefined;
  /** Filled for the access log. */
  upstream: string | undefined = undefined;
  upstreamCalls = 0;
  errorCode: string | undefined = undefined;
  operationName: string | undefined = undefined;
  /** How a GraphQL request was executed: `direct` (src/graphql/fast-path.ts) or `yoga` (the full path). */
  graphqlPath: 'direct' | 'prepared' | 'yoga' | undefined = undefined;
  /** Rate-limit decisions for the access log, e.g. `perClient:ok`. */
  limits: string[] | undefined = undefined;
  /** W3C trace id of the request's span, when tracing is on. */
  traceId: string | undefined = undefined;
  /** The body limit the body-limit step decided for this request (the server's default when unset). */
  maxBodyBytes: number | undefined = undefined;
  /** The first rate-limit refusal of this request (for `gateway_rate_limit_exceeded_total`). */
  rateLimited: RateLimitedMark | undefined = undefined;
  /** The gateway answers CORS for this request: an upstream's CORS headers are dropped. */
  corsOwned = false;
  /** A plugin's own per-request values, each under the typed key it declares (see {@link StateKey}). */
  #slots: unknown[] | undefined = undefined;

  constructor(req: IncomingMessage, res: ServerResponse, startedAt: number) {
    this.req = req;
    this.res = res;
    this.startedAt = startedAt;
    this.method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? '' : url.slice(q + 1);
  }

  /** This request's value under `key`. */
  get<T>(key: StateKey<T>): T | undefined {
    return this.#slots?.[key.index] as T | undefined;
  }

  set<T>(key: StateKey<T>, value: T | undefined): void {
    (this.#slots ??= [])[key.index] = value;
  }

  /** Milliseconds left before the deadline (Infinity when there is none). */
  remainingMs(): number {
    return this.deadline - Date.now();
  }
}
