/**
 * Every error the gateway itself produces is defined here, once: its code, its HTTP status
 * and a message template. Nothing else in the code base spells an error code as a literal.
 * The error table in docs/errors.md is checked against this registry by a test.
 */

export interface ErrorDefinition {
  readonly code: string;
  readonly status: number;
  readonly template: string;
  /** Builds a {@link GatewayError}; `%s` / `%d` in the template are filled in order. */
  (...args: Array<string | number>): GatewayError;
}

const GATEWAY_ERROR = Symbol.for('gateway.error');

export class GatewayError extends Error {
  readonly [GATEWAY_ERROR] = true;
  readonly code: string;
  readonly status: number;
  /** Extra response headers (e.g. `Retry-After`, `Allow`, `WWW-Authenticate`). */
  headers: Record<string, string> | undefined;
  /**
   * For upstream errors: whether this counts as the upstream failing (5xx, connection error,
   * timeout) for circuit breakers, retries and outlier detection. 4xx-like answers do not.
   */
  upstreamFailure = false;
  /**
   * For upstream errors: the call was refused before it reached any target (open circuit, no
   * target can serve), so it is counted apart from the calls upstreams answered.
   */
  refused = false;

  constructor(code: string, status: number, message: string, headers?: Record<string, string>) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }

  /** Returns this error with extra response headers attached. */
  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }

  /** Marks this error as the upstream's fault (see {@link upstreamFailure}). */
  asUpstreamFailure(cause?: unknown): this {
    this.upstreamFailure = true;
    if (cause !== undefined) this.cause = cause;
    return this;
  }
}

const registry = new Map<string, ErrorDefinition>();

function format(template: string, args: Array<string | number>): string {
  let i = 0;
  return template.replace(/%[sd]/g, () => String(args[i++] ?? ''));
}

export function defineError(code: string, status: number, template: string): ErrorDefinition {
  if (registry.has(code)) throw new Error(`error code ${code} defined twice`);
  const make = ((...args: Array<string | number>) =>
    new GatewayError(code, status, format(template, args))) as ErrorDefinition;
  Object.defineProperties(make, {
    code: { value: code },
    status: { value: status },
    template: { value: template },
  });
  registry.set(code, make);
  return make;
}

/** All defined errors, for documentation checks and the table in docs/errors.md. */
export function listErrors(): ErrorDefinition[] {
  return [...registry.values()];
}

export function isGatewayError(err: unknown): err is GatewayError {
  // A brand rather than instanceof: a domain module loaded from TypeScript beside the compiled
  // engine has its own copy of this class.
  return !!err && typeof err === 'object' && (err as Record<symbol, unknown>)[GATEWAY_ERROR] === true;
}

// --- Request-level errors -------------------------------------------------------------

export const NotFound = defineError('NOT_FOUND', 404, 'no route matches %s %s');
export const MethodNotAllowed = defineError('METHOD_NOT_ALLOWED', 405, 'method %s is not allowed on this route');
export const BadRequest = defineError('BAD_REQUEST', 400, '%s');
export const Unauthenticated = defineError('UNAUTHENTICATED', 401, '%s');
export const Forbidden = defineError('FORBIDDEN', 403, '%s');
export const PayloadTooLarge = defineError('PAYLOAD_TOO_LARGE', 413, 'request body exceeds %d bytes');
export const UnsupportedMediaType = defineError('UNSUPPORTED_MEDIA_TYPE', 415, 'content type %s is not accepted on this route');
export const RequestTimeout = defineError('REQUEST_TIMEOUT', 408, 'request body not received in time (%d ms)');
export const ClientClosedRequest = defineError('CLIENT_CLOSED_REQUEST', 499, 'client closed the request before its body was sent');
export const RateLimited = defineError('RATE_LIMITED', 429, 'rate limit exceeded, retry in %d s');
export const ServiceUnavailable = defineError('SERVICE_UNAVAILABLE', 503, '%s');
export const InternalError = defineError('INTERNAL_SERVER_ERROR', 500, 'internal error');

// --- GraphQL operation limits -----------------------------------------------------------

export const OperationTooDeep = defineError('OPERATION_TOO_DEEP', 400, 'operation depth %d exceeds the limit of %d');
export const TooManyAliases = defineError('TOO_MANY_ALIASES', 400, 'operation uses %d aliases, the limit is %d');
export const OperationTooCostly = defineError('OPERATION_TOO_COSTLY', 400, 'operation cost %d exceeds the limit of %d');
export const TooManyDirectives = defineError('TOO_MANY_DIRECTIVES', 400, 'operation uses %d directives, the limit is %d');
export const IntrospectionTooComplex = defineError('INTROSPECTION_TOO_COMPLEX', 400, 'introspection %s');
export const PersistedQueryNotFound = defineError('PERSISTED_QUERY_NOT_FOUND', 400, 'PersistedQueryNotFound');
export const BatchingDisabled = defineError('BATCHING_DISABLED', 400, 'batched requests (a JSON array of operations) are off; set graphql.batching (e.g. `batching: { maxBatchSize: 10 }`) to accept them');
export const BatchTooLarge = defineError('BATCH_TOO_LARGE', 400, 'a batch of %d operations is over graphql.batching.maxBatchSize (%d)');
export const PersistedQueryNotSupported = defineError('PERSISTED_QUERY_NOT_SUPPORTED', 400, 'PersistedQueryNotSupported');
export const PersistedQueryOnly = defineError('PERSISTED_QUERY_ONLY', 400, 'only persisted operations are accepted');

// --- Upstream errors ----------------------------------------------------------------------

export const UpstreamUnavailable = defineError('UPSTREAM_UNAVAILABLE', 503, 'upstream %s is unavailable: %s');
export const UpstreamTimeout = defineError('UPSTREAM_TIMEOUT', 504, 'upstream %s timed out after %dms');
export const UpstreamError = defineError('UPSTREAM_ERROR', 502, 'upstream %s answered %s');

/** UPSTREAM_TIMEOUT for a timeout the upstream reported itself (gRPC DEADLINE_EXCEEDED before ours, HTTP 504). */
export function UpstreamReportedTimeout(upstream: string, what: string): GatewayError {
  return new GatewayError(UpstreamTimeout.code, UpstreamTimeout.status, `upstream ${upstream} reported a timeout (${what})`);
}

// --- Route transformations ------------------------------------------------------------------

/** A route's `transform.response.body` expression failed on an upstream answer (src/proxy/transform.ts). */
export const TransformFailed = defineError('TRANSFORM_FAILED', 502, 'route %s could not map the upstream answer: %s');

// --- Browser sessions (src/auth/oidc-*.ts, src/plugins/use-oidc-session.ts) -----------------

/** The session's refresh failed or its lifetime ended: the browser must log in again. */
export const SessionExpired = defineError('SESSION_EXPIRED', 401, 'session expired: %s');
/** A cookie-authenticated request that changes state came without the CSRF header. */
export const CsrfRequired = defineError('CSRF_REQUIRED', 403, 'a cookie-authenticated %s needs the %s header');
/** The login callback failed (unknown or replayed state, provider error, invalid ID token). */
export const LoginFailed = defineError('LOGIN_FAILED', 400, 'login failed: %s');
/** The OpenID provider or introspection endpoint cannot be reached (or its breaker is open). */
export const IdentityProviderUnavailable = defineError('IDP_UNAVAILABLE', 503, 'identity provider unavailable: %s');
