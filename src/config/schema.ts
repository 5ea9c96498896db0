/**
 * The configuration file's shape, validated strictly: unknown keys are errors, so a typo
 * never passes silently. The inferred {@link GatewayConfig} type is what the engine reads.
 */
import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import { isForwardableRole, isForwardableSubject } from './identity-values.js';
import { isHeaderName } from '../http/reserved-headers.js';
import { oidcSchema, introspectionSchema } from './oidc-schema.js';
import { checkConfig, checkRoute, checkUpstream, checkWindow, EVEN_WITH_OTHER_PROBLEMS } from './cross-checks.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** Empty strings (e.g. from `${VAR:-}`) mean "not set". */
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** `auth.failureLimit`: a fixed window. */
const fixedWindow = z.strictObject({
  points: positiveInt,
  durationSec: positiveInt,
});

/** Rate-limit windows (issue #21): how they count is `algorithm` (docs/rate-limits.md#algorithms). */
const windowShape = {
  points: positiveInt,
  durationSec: positiveInt,
  algorithm: z.enum(['fixed-window', 'sliding-window', 'token-bucket']).default('fixed-window'),
  /** token-bucket: bucket capacity. @default points */
  burst: positiveInt.optional(),
};
const window = z.strictObject(windowShape).superRefine(checkWindow, EVEN_WITH_OTHER_PROBLEMS);
/** Per-client and per-route windows, whose header fields reach the client, may also warn before the limit. */
const clientWindow = z
  .strictObject({ ...windowShape, warnAtPercent: z.number().int().min(1).max(99).optional() })
  .superRefine(checkWindow, EVEN_WITH_OTHER_PROBLEMS);

const cidr = z
  .string()
  .refine((s) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s) && (s.includes('/') ? ipaddr.isValidCIDR(s) : ipaddr.isValid(s)), 'must be an IP address or CIDR block');

/**
 * `server.trustProxy`: false | true (= 1 hop) | N hops | trusted proxy addresses (IPs, CIDR
 * blocks, or proxy-addr's `loopback`, `linklocal`, `uniquelocal`). See src/plugins/use-client-ip.ts.
 */
const trustProxyEntry = z
  .string()
  .refine((s) => ['loopback', 'linklocal', 'uniquelocal'].includes(s) || (cidr.safeParse(s).success && compilesAsProxy(s)), {
    error: 'must be an IP address, a CIDR block (prefix > 0) or one of loopback, linklocal, uniquelocal',
  });

function compilesAsProxy(s: string): boolean {
  try {
    proxyaddr.compile(s);
    return true;
  } catch {
    return false; // proxy-addr refuses a /0 block (trusting every address) and malformed entries.
  }
}

const trustProxy = z
  .union([z.boolean(), nonNegativeInt, z.array(trustProxyEntry).min(1)], {
    error: 'must be true, false, a number of trusted hops, or a list of trusted proxy addresses',
  })
  .default(false);

/** PEM file paths, relative to the config file. */
const pemPath = z.string().min(1);

/** `server.tls`: TLS on the listener (src/http/tls-files.ts, src/server.ts); absent: plain HTTP. */
const serverTls = z.strictObject({
  /** Certificate chain (PEM). */
  cert: pemPath,
  /** Private key (PEM) of `cert`. */
  key: pemPath,
  /** CA bundle (PEM) that client certificates are verified against (mTLS). */
  clientCa: pemPath.optional(),
  /** Roles of client-certificate identities, by certificate subject (CN, else first SAN). @default {} */
  clientRoles: z.record(z.string().min(1), z.array(z.string().refine(isForwardableRole, 'must be 1-128 visible ASCII characters without ","'))).default({}),
  /** Ask clients for a certificate. @default true when clientCa is set */
  requestCert: z.boolean().optional(),
  /** Oldest TLS version accepted. @default TLSv1.2 */
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  /** Offer HTTP/2 by ALPN next to HTTP/1.1. @default true */
  http2: z.boolean().default(true),
});

const server = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(4000),
  maxBodyBytes: positiveInt.default(1_048_576),
  drainMs: nonNegativeInt.default(10_000),
  /** During a drain, idle keep-alive connections stay open this long after the last request, for requests already on their way. */
  drainGraceMs: nonNegativeInt.default(1_000),
  trustProxy,
  compression: z.boolean().default(true),
  cors: z
    .strictObject({
      origins: z.array(z.string()).min(1),
      credentials: z.boolean().default(false),
      methods: z.array(z.string()).default(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
      allowHeaders: z.array(z.string()).optional(),
      exposeHeaders: z.array(z.string()).default([]),
      maxAgeSec: nonNegativeInt.default(600),
    })
    .optional(),
  ipFilter: z
    .strictObject({
      allow: z.array(cidr).default([]),
      deny: z.array(cidr).default([]),
    })
    .optional(),
  /** Serve `/metrics` on its own port instead of the main one. */
  metricsPort: z.number().int().min(0).max(65535).optional(),
  /** Largest request header block the server accepts, in bytes. */
  maxHeaderBytes: positiveInt.default(16_384),
  /** Peer addresses (CIDR) allowed to read `/metrics`, on either port: loopback and private networks by default. */
  metricsAllow: z.array(cidr).default(['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
  /** Time to receive a whole request, headers and body (408 past it); 0 = no limit. @default 60000 */
  requestTimeoutMs: nonNegativeInt.default(60_000),
  /** Longest pause between two chunks of a request body (408 past it). @default 10000 */
  bodyTimeoutMs: positiveInt.default(10_000),
  /** Passthrough bodies up to this size are read whole before an upstream connection is taken. @default 65536 */
  requestBufferBytes: nonNegativeInt.default(65_536),
  tls: serverTls.optional(),
});

const redis = z.strictObject({
  url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  keyPrefix: z.string().default('gw:'),
  cluster: z.array(z.string()).optional(),
  sentinel: z
    .strictObject({
      name: z.string(),
      nodes: z.array(z.string()).min(1),
    })
    .optional(),
});

const persistedOperations = z.strictObject({
  file: z.string().optional(),
  registry: z.string().optional(),
  onlyPersisted: z.boolean().default(false),
  /** Automatic persisted queries; off: a hash the file does not hold answers PersistedQueryNotSupported. */
  apq: z.boolean().default(true),
  /** APQ documents this instance keeps in memory (least recently used forgotten first). */
  maxEntries: positiveInt.default(1000),
  /** Bytes of APQ documents this instance keeps in memory (least recently used forgotten first). */
  maxBytes: positiveInt.default(16 * 1024 * 1024),
  /** Larger APQ documents still run but are never registered (in memory or Redis). */
  maxDocumentBytes: positiveInt.default(64 * 1024),
});

const graphql = z.strictObject({
  path: z.string().startsWith('/').default('/graphql'),
  /** Time budget of one GraphQL request: every upstream call it makes ends by then. @default 30000 */
  timeoutMs: positiveInt.default(30_000),
  /** GraphiQL for browsers on GET; an object turns it on with options. @default true */
  graphiql: z
    .union([
      z.boolean(),
      z.strictObject({
        /** The operation the editor opens on, e.g. an example for the team's schema. */
        defaultQuery: z.string().max(65_536).optional(),
      }),
    ])
    .default(true),
  introspection: z.boolean().default(true),
  maxDepth: positiveInt.optional(),
  maxAliases: nonNegativeInt.optional(),
  maxCost: positiveInt.optional(),
  /** Per-field cost weights for `maxCost`, e.g. `{ "Query.users": 5 }`. */
  fieldCosts: z.record(z.string(), nonNegativeInt).default({}),
  /** Report the computed cost in `extensions.cost` of every response. */
  exposeCost: z.boolean().default(false),
  /** Execute queries and mutations with graphql-jit (compiled once per operation). */
  jit: z.boolean().default(true),
  /** Answer plain JSON POSTs without yoga's Fetch-API layer (src/graphql/fast-path.ts). */
  fastPath: z.boolean().default(true),
  /**
   * Values that field bindings read as `$config.<name>` (docs/bindings.md), e.g. a tenant or an
   * API version; a binding naming an absent key does not compose.
   */
  bindingValues: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a name (letters, digits, _)'), z.string()).default({}),
  /** Parser token limit: longer documents are a parse error (400) before anything else reads them. */
  maxTokens: positiveInt.default(10_000),
  /** Most directives in one operation (fragments expanded); more: 400 TOO_MANY_DIRECTIVES. */
  maxDirectives: positiveInt.default(50),
  /** Most `__schema` / `__type` fields in one operation; more: 400 INTROSPECTION_TOO_COMPLEX. */
  maxIntrospectionFields: nonNegativeInt.default(2),
  /** Bytes of parsed documents and validation results kept for reuse (yoga's caches and the direct path's). */
  documentCacheBytes: nonNegativeInt.default(8 * 1024 * 1024),
  /**
   * Refuse CORS-simple POSTs (form-urlencoded, multipart, text/plain, no content type) unless
   * they carry one of these headers (GraphQL-over-HTTP GET queries stay open; GET never runs mutations).
   */
  csrfPrevention: z.union([z.boolean(), z.strictObject({ requestHeaders: z.array(z.string().min(1)).min(1) })]).default(true),
  /**
   * Batched requests (a JSON array of operations in one POST); absent: refused with 400
   * BATCHING_DISABLED. Each operation counts against every limit as if it came alone.
   */
  batching: z
    .strictObject({
      /** Most operations in one batch; more: 400 BATCH_TOO_LARGE. @default 10 */
      maxBatchSize: positiveInt.max(1000).default(10),
    })
    .optional(),
  /** Trusted documents and APQ (src/plugins/use-persisted-operations.ts); APQ is on when the key is absent. */
  persistedOperations: persistedOperations.default(() => persistedOperations.parse({})),
});

const jwt = z.strictObject({
  algorithms: z.array(z.enum([
    'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
    'ES256', 'ES384', 'ES512', 'EdDSA',
  ])).min(1),
  secret: optionalString,
  publicKey: optionalString,
  jwksUrl: z.preprocess((v) => (v === '' ? undefined : v), httpUrl.optional()),
  issuer: optionalString,
  audience: z.union([z.string(), z.array(z.string())]).optional(),
  requiredClaims: z.array(z.string()).default([]),
  clockToleranceSec: nonNegativeInt.default(0),
  rolesClaim: z.string().default('roles'),
  /** Minimum time between JWKS refetches caused by an unknown `kid`. @default 30000 */
  jwksCooldownMs: nonNegativeInt.default(30_000),
  /** Cache verified tokens (never past their `exp`). @default 10000 entries */
  cacheSize: nonNegativeInt.default(10_000),
  /** Bytes those remembered tokens may take (each counted at twice its length plus 256). @default 16777216 */
  cacheMaxBytes: nonNegativeInt.default(16_777_216),
});

/** A role forwarded in the comma-separated X-User-Roles (src/auth/identity-values.ts). */
const role = z.string().refine(isForwardableRole, 'must be 1-128 visible ASCII characters without ","');
/** An API-key owner, forwarded verbatim as X-User-Id / X-Client-Id. */
const owner = z.string().refine(isForwardableSubject, 'must be 1-256 printable ASCII characters, no leading or trailing space');

const apiKey = z.union([
  z.strictObject({ key: z.string().min(1), owner, roles: z.array(role).default([]) }),
  z.strictObject({
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters'),
    owner,
    roles: z.array(role).default([]),
  }),
]);

const auth = z.strictObject({
  jwt: jwt.optional(),
  apiKeys: z
    .strictObject({
      header: z.string().default('X-API-Key'),
      /** Also accept the key from this query parameter (off unless set); it is removed before forwarding. */
      queryParam: z.string().min(1).optional(),
      keys: z.array(apiKey).default([]),
    })
    .optional(),
  /** Browser sessions: OpenID Connect login and cookie sessions (docs/sessions.md). */
  oidc: oidcSchema.optional(),
  /** RFC 7662 introspection of opaque (non-JWT) bearer tokens. */
  introspection: introspectionSchema.optional(),
  /** Failed authentications (bad token, unknown API key) per client IP before 429; false: no throttle. */
  failureLimit: z.union([fixedWindow, z.literal(false)]).default({ points: 10, durationSec: 60 }),
});

const rateLimit = z.strictObject({
  global: window.optional(),
  perClient: clientWindow.optional(),
  fields: z.record(z.string().regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/, 'must be Type.field'), window).default({}),
  failOpen: z.boolean().default(true),
  /** Which rate-limit header fields to send: the X-RateLimit-* trio, the IETF draft fields, or both. */
  headers: z.enum(['x-ratelimit', 'ietf', 'both']).default('x-ratelimit'),
});

const target = z.strictObject({
  url: z.string(),
  weight: positiveInt.default(1),
});

const upstream = z
  .strictObject({
    protocol: z.enum(['http', 'grpc']).default('http'),
    /** gRPC: the .proto file (relative to the project root). @default upstreams/<name>/<name>.proto */
    proto: z.string().optional(),
    /** gRPC: the fully qualified service name. @default the first service in the proto */
    service: z.string().optional(),
    /** gRPC: methods safe to retry. */
    idempotentMethods: z.array(z.string()).default([]),
    targets: z.array(target).min(1),
    balancer: z.enum(['round-robin', 'least-connections', 'weighted', 'consistent-hash']).default('round-robin'),
    hashOn: z
      .string()
      .regex(/^(client|ip|header:[A-Za-z0-9-]+)$/, 'must be client, ip or header:NAME')
      .default('client'),
    timeoutMs: positiveInt.default(10_000),
    /** Keep-alive connections per target. */
    connections: positiveInt.default(128),
    /** HTTP/1.1 pipelining depth per connection (1 = off). */
    pipelining: positiveInt.default(1),
    /** Streamed (larger than server.requestBufferBytes) uploads in flight at once. @default half of connections */
    maxStreamingUploads: positiveInt.optional(),
    /** Bytes of an answer a GraphQL call (field bindings, `json()`) reads; past it the call fails. Passthrough streams and is not bound by it. */
    maxResponseBytes: positiveInt.default(16 * 1024 * 1024),
    retry: z
      .strictObject({
        attempts: nonNegativeInt.default(0),
        baseDelayMs: positiveInt.default(50),
        maxDelayMs: positiveInt.default(2_000),
        /** Retries allowed, as a share of recent requests, so retries cannot multiply load. */
        budgetPercent: z.number().min(0).max(100).default(20),
      })
      .optional(),
    circuitBreaker: z
      .strictObject({
        failureThreshold: positiveInt.default(5),
        openMs: positiveInt.default(30_000),
        successThreshold: positiveInt.default(3),
        halfOpenMaxCalls: positiveInt.default(1),
      })
      .optional(),
    healthCheck: z
      .strictObject({
        path: z.string().startsWith('/').default('/health'),
        intervalMs: positiveInt.default(10_000),
        timeoutMs: positiveInt.default(2_000),
        unhealthyThreshold: positiveInt.default(2),
        healthyThreshold: positiveInt.default(1),
      })
      .optional(),
    /**
     * Passive outlier ejection per target (src/upstream/resilience/outlier.ts): consecutive
     * failures or a failure rate over a window take a target out, for a time that grows with
     * each repeat, with at most maxEjectionPercent of the targets out at once.
     */
    outlierDetection: z
      .strictObject({
        /** @default circuitBreaker.failureThreshold, else 5 */
        consecutiveFailures: positiveInt.optional(),
        /** Also eject when at least this share (%) of a window's calls failed. @default off */
        failureRatePercent: z.number().int().min(1).max(100).optional(),
        /** Calls a window needs before its failure rate counts. */
        minRequests: positiveInt.default(20),
        windowMs: positiveInt.default(10_000),
        /** First ejection; the n-th lasts n × ejectMs. @default circuitBreaker.openMs, else 30000 */
        ejectMs: positiveInt.optional(),
        /** Longest ejection. @default 10 × ejectMs */
        maxEjectMs: positiveInt.optional(),
        maxEjectionPercent: z.number().int().min(0).max(100).default(50),
      })
      .optional(),
    /** Below this share (%) of targets passing health checks, traffic goes to all targets (0: never). */
    panicThresholdPercent: z.number().int().min(0).max(100).default(50),
    /** TLS toward https:// and gRPC targets (src/upstream/tls.ts): CA, client certificate, SNI. */
    tls: z
      .strictObject({
        ca: pemPath.optional(),
        cert: pemPath.optional(),
        key: pemPath.optional(),
        servername: z.string().min(1).optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
  })
  .superRefine(checkUpstream, EVEN_WITH_OTHER_PROBLEMS);

const headerName = z.string().refine(isHeaderName, 'must be a header name (letters, digits and !#$%&\'*+-.^_`|~)');
/** Applied in this order: remove, rename, add. Values of `add` may hold `${request.id}`-style variables (src/http/header-template.ts). */
const headerOps = z.strictObject({
  add: z.record(z.string(), z.string()).default({}),
  remove: z.array(headerName).default([]),
  /** `From: To`: the header From travels on as To (names checked in src/config/transform-checks.ts). */
  rename: z.record(z.string(), z.string()).default({}),
});

/** Per-route transformations (src/proxy/transform.ts); JSONata expressions are compiled by the config check. */
const queryOps = z.strictObject({
  add: z.record(z.string().min(1), z.string()).default({}),
  remove: z.array(z.string().min(1)).default([]),
  rename: z.record(z.string().min(1), z.string().min(1)).default({}),
});
const transform = z.strictObject({
  request: z
    .strictObject({
      query: queryOps.optional(),
      body: z.string().min(1).optional(),
      /**
       * A request body the route cannot map (compressed, not JSON, over maxBodyBytes): `refuse`
       * answers 413/415, `pass` forwards it unmapped. @default refuse
       */
      onUnmappable: z.enum(['refuse', 'pass']).default('refuse'),
    })
    .default({ onUnmappable: 'refuse' }),
  response: z
    .strictObject({
      body: z.string().min(1).optional(),
      /**
       * A JSON answer the route cannot map (compressed anyway, over maxBodyBytes, not parseable,
       * a 206 part): `refuse` answers 502 TRANSFORM_FAILED, `pass` forwards it unmapped. @default refuse
       */
      onUnmappable: z.enum(['refuse', 'pass']).default('refuse'),
    })
    .default({ onUnmappable: 'refuse' }),
  /** Bodies larger than this pass through untouched. @default 1048576 */
  maxBodyBytes: positiveInt.default(1_048_576),
  /** Longest evaluation of one body expression. @default 100 */
  timeoutMs: positiveInt.max(10_000).default(100),
});

const route = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . -'),
    match: z.strictObject({
      path: z.string().startsWith('/').optional(),
      pathPrefix: z.string().startsWith('/').optional(),
      /** A regular expression the whole normalised path must match (src/http/path-regex.ts). */
      pathRegex: z.string().optional(),
      /** `api.example.com` or `*.example.com` (src/http/route-host.ts). */
      host: z.string().optional(),
      methods: z.array(z.string().transform((m) => m.toUpperCase())).optional(),
      headers: z.record(z.string(), z.string()).default({}),
      query: z.record(z.string(), z.string()).default({}),
    }),
    upstream: z.string(),
    rewrite: z
      .strictObject({
        stripPrefix: z.string().startsWith('/').optional(),
        addPrefix: z.string().startsWith('/').optional(),
        regex: z.strictObject({ pattern: z.string(), replacement: z.string() }).optional(),
      })
      .optional(),
    auth: z.enum(['none', 'jwt', 'apiKey', 'mtls', 'any']).default('none'),
    roles: z.array(role).default([]),
    rateLimit: clientWindow.optional(),
    timeoutMs: positiveInt.optional(),
    requestHeaders: headerOps.optional(),
    responseHeaders: headerOps.optional(),
    transform: transform.optional(),
    cache: z.strictObject({ ttlSec: positiveInt }).optional(),
    contentTypes: z.array(z.string()).optional(),
    /** REST → gRPC translation: the route calls this method of a grpc upstream with JSON in and out. */
    grpc: z
      .strictObject({
        method: z.string().regex(/^[\w.]+\/\w+$/, 'must be package.Service/Method'),
        /** Query parameters to turn into repeated fields by splitting on commas. */
        repeated: z.array(z.string()).default([]),
      })
      .optional(),
  })
  .superRefine(checkRoute, EVEN_WITH_OTHER_PROBLEMS);

/** The passthrough response cache, shared by every route with `cache` (routes set their own `ttlSec`). */
const responseCache = z.strictObject({
  /** All entries together in process memory, in bytes (Redis is bounded by entry size and TTL). */
  maxBytes: positiveInt.default(67_108_864),
  /** Largest response body stored, in bytes; larger answers are streamed and not cached. */
  maxEntryBytes: positiveInt.default(1_048_576),
});

const logging = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Write one access-log line per request. */
  accessLog: z.boolean().default(true),
  /** Bytes of log lines collected before one write to stdout; 0 writes each line at once. */
  bufferBytes: z.number().int().min(0).max(1_048_576).default(16_384),
  /** The longest a buffered line waits before it is written, ms. */
  flushIntervalMs: z.number().int().min(10).max(60_000).default(250),
  /** Bytes held while stdout takes no writes (a blocked pipe); lines past that are dropped and counted. */
  maxBufferBytes: z.number().int().min(65_536).max(268_435_456).default(1_048_576),
});

/** The `logging` section when the config leaves it out: the one statement of its defaults (the logger reads them too). */
export const LOGGING_DEFAULTS: Readonly<z.output<typeof logging>> = Object.freeze(logging.parse({}));

export const configSchema = z
  .strictObject({
    server: server.default(() => server.parse({})),
    redis: redis.optional(),
    graphql: graphql.default(() => graphql.parse({})),
    auth: auth.default(() => auth.parse({})),
    rateLimit: rateLimit.default(() => rateLimit.parse({})),
    upstreams: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'upstream names are letters, digits, _ and -'), upstream),
    routes: z.array(route).default([]),
    logging: logging.default(() => logging.parse({})),
    cache: responseCache.default(() => responseCache.parse({})),
  })
  .superRefine(checkConfig, EVEN_WITH_OTHER_PROBLEMS);

export type GatewayConfig = z.output<typeof configSchema>;
export type ServerConfig = GatewayConfig['server'];
export type ServerTlsConfig = NonNullable<ServerConfig['tls']>;
export type UpstreamTlsConfig = NonNullable<GatewayConfig['upstreams'][string]['tls']>;
export type GraphqlConfig = GatewayConfig['graphql'];
export type AuthConfig = GatewayConfig['auth'];
export type JwtConfig = NonNullable<AuthConfig['jwt']>;
export type ApiKeysConfig = NonNullable<AuthConfig['apiKeys']>;
export type RateLimitConfig = GatewayConfig['rateLimit'];
/** Any window; `algorithm` absent means fixed-window (auth.failureLimit, `@rateLimit` directives). */
export type RateWindow = z.output<typeof fixedWindow> & Partial<Omit<z.output<typeof clientWindow>, 'points' | 'durationSec'>>;
export type RateAlgorithm = z.output<typeof window>['algorithm'];
export type UpstreamConfig = GatewayConfig['upstreams'][string];
export type RouteConfig = GatewayConfig['routes'][number];
export type RedisConfig = NonNullable<GatewayConfig['redis']>;
export type LoggingConfig = GatewayConfig['logging'];
