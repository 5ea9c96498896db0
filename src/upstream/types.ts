/**
 * The one upstream layer shared by GraphQL resolvers and passthrough routes.
 *
 * A call flows through a chain of small interceptors composed once at start-up
 * (`interceptor(next) => call => …`, in the style of undici's dispatcher composition) down
 * to a transport (HTTP on undici pools, or gRPC). Deadlines, circuit breaking, retries,
 * balancing, tracing and metrics are interceptors; none of them knows the protocol except
 * through {@link UpstreamInfo.isFailure}.
 */
import type { Readable, Writable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Metadata } from '@grpc/grpc-js';
import type { UpstreamConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import type { UpstreamTls } from '../http/tls-files.js';

/** One backend address of an upstream, with its live state. */
export interface Target {
  readonly url: string;
  readonly weight: number;
  /** Index in the upstream's target list (stable identity for balancers). */
  readonly index: number;
  /** False while health checks or outlier detection keep it out of rotation. */
  healthy: boolean;
  /** Calls in flight (for least-connections). */
  active: number;
}

/** What every call carries, whatever the protocol. */
export interface UpstreamCall {
  /** Absolute deadline in ms on the `Date.now()` clock; the call fails with UPSTREAM_TIMEOUT past it. */
  deadline: number;
  /** Safe to send again (GET, HEAD, OPTIONS, PUT, DELETE; gRPC methods marked idempotent). */
  idempotent: boolean;
  /** The request this call serves, when there is one (identity, trace context, hash key). */
  ctx: RequestContext | undefined;
  /** Set by the balancer; the transport uses the first target when none was chosen. */
  target: Target | undefined;
  /** 0 for the first try, 1.. for retries. */
  attempt: number;
  /** Targets that already failed this call (bit mask, see targetBit): a retry goes elsewhere when it can. */
  avoid: number;
}

export interface HttpCall extends UpstreamCall {
  method: string;
  /** Path and query, already rewritten for the upstream. */
  path: string;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  /** A stream is sent as it arrives; such a call cannot be retried once the body started. */
  body: Readable | Buffer | string | null;
  /**
   * A JSON call (HttpUpstream#json): the whole answer is read inside the call, within its deadline
   * and `maxResponseBytes`; a 2xx body is parsed into HttpResult#json and one that cannot be read
   * fails the call. Else the deadline bounds the answer until its head and the body is left to
   * the caller.
   */
  readJson?: boolean;
}

export interface HttpResult {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /**
   * The response body, held until the caller takes it; the caller must send, read, resume or
   * destroy it. Null for a `readJson` call, whose body the transport has already read (into
   * `json`, or `errorText`).
   */
  body: UpstreamBody | null;
  target: Target;
  /** The parsed body of a 2xx answer to a `readJson` call. */
  json: unknown;
  /** The start of a non-2xx answer's body to a `readJson` call, for the log (the client never sees it). */
  errorText?: string;
}

/**
 * The body of a streamed HTTP answer as the transport delivers it: the upstream is paused until
 * one consumer takes it, then each chunk goes straight to that consumer with back-pressure (no
 * intermediate stream unless one is asked for). The exchange ends with the body's end, an error,
 * or `destroy()`.
 */
export interface UpstreamBody {
  /**
   * Writes the body to `dest` and ends it. Back-pressure pauses the upstream; an upstream failure
   * mid-body destroys `dest`; `dest` closed before the end aborts the upstream exchange.
   */
  sendTo(dest: Writable): void;
  /** The body as a Node Readable, for consumers that read a stream (cache tap, compression, mappings). */
  readable(): Readable;
  /** Reads and drops the body (an answer nobody passes on): the connection stays reusable. */
  resume(): void;
  /** Ends the exchange before its end (the connection is closed). */
  destroy(err?: Error): void;
  /** Calls `fn` once when the exchange is over (ended, failed or destroyed); at once if it already is. */
  onClose(fn: () => void): void;
}

export interface GrpcCall extends UpstreamCall {
  /** Method name within the service, e.g. `GetProducts`. */
  method: string;
  request: unknown;
  metadata: Metadata | undefined;
}

export interface GrpcResult {
  response: unknown;
  target: Target;
}

export type Invoke<C extends UpstreamCall, R> = (call: C) => Promise<R>;

/** Static facts about an upstream that interceptors may read. */
export interface UpstreamInfo {
  readonly name: string;
  readonly protocol: 'http' | 'grpc';
  readonly config: UpstreamConfig;
  readonly targets: Target[];
  /** TLS toward the targets (`upstreams.<name>.tls`), loaded once; health checks use it too. */
  readonly tls?: UpstreamTls;
  /** True when a settled result counts as a failure (HTTP 5xx); thrown errors are classified by code. */
  isFailure(result: unknown): boolean;
}

/**
 * A cross-cutting behaviour around the transport. Built once per upstream at start-up;
 * the returned function runs per call and must not allocate closures per call.
 */
export type Interceptor = <C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo) => Invoke<C, R>;

/**
 * Where transports write what a client must not see (upstream error bodies, gRPC details),
 * keyed by the request id so an operator can find it.
 */
export interface UpstreamLog {
  warn(obj: object, msg: string): void;
}

/** Something that wants to observe calls (metrics, logs, traces) without being an interceptor. */
export interface UpstreamObserver {
  onCallEnd?(upstream: string, outcome: string, durationMs: number, call: UpstreamCall): void;
  onRetry?(upstream: string, attempt: number, reason: string): void;
  onBreakerState?(upstream: string, state: 'closed' | 'half-open' | 'open'): void;
  onTargetHealth?(upstream: string, target: string, healthy: boolean): void;
  /** Passive detection moved a target: `ejectMs` is the ejection's length when it was ejected. */
  onTargetState?(upstream: string, target: string, state: 'in' | 'probing' | 'ejected', ejectMs: number): void;
  /** Panic routing (health checks ignored) started or ended. */
  onPanicState?(upstream: string, active: boolean): void;
  /** A call was routed while panicking. */
  onPanicPick?(upstream: string): void;
  /** A call was refused before reaching any target (open circuit, no target). */
  onCallRefused?(upstream: string, reason: string): void;
}
