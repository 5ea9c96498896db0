/**
 * An HTTP upstream: one undici Pool (keep-alive) per target, behind the interceptor chain.
 * The call's deadline is kept by the shared deadline wheel (src/upstream/deadline-wheel.ts),
 * within about 20 ms, over the wait for a connection, connect and headers, and for `json()`
 * calls over the body too. A streamed (passthrough) body is then bounded per pause between
 * chunks by undici's body timeout, so a long download keeps going while data flows.
 *
 * Every call is dispatched with a handler of ours (no undici body stream): a JSON call collects
 * its answer (JsonCall), a streamed call hands its body over at the head and writes it straight
 * to whoever takes it, the client's response as a rule (StreamCall).
 *
 * Streamed uploads hold a connection for as long as the client takes to send; at most
 * `maxStreamingUploads` of them run at once, so slow uploaders cannot take every connection.
 */
import { Pool } from 'undici';
import type { Readable } from 'node:stream';
import { RequestTimeout, UpstreamError, UpstreamReportedTimeout, UpstreamTimeout, UpstreamUnavailable, isGatewayError, GatewayError } from '../../errors.js';
import { clientFault, markNeutral } from '../../client-fault.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { HttpCall, HttpResult, Interceptor, Invoke, Target, UpstreamInfo, UpstreamLog } from '../types.js';
import { createTargets } from '../targets.js';
import { JsonCall, StreamCall, type CallOwner } from './dispatch-handlers.js';
import type { UpstreamTls } from '../../http/tls-files.js';
import { writeIdentityHeaders } from '../../http/reserved-headers.js';
import { resolveUpstreamPath, type UpstreamPath } from './path-template.js';
import { CallDeadline, scheduleDeadline, type DeadlineReason } from '../deadline-wheel.js';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
]);

function errorCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.code && e.code !== 'UND_ERR_ABORTED') return e.code;
    if (Array.isArray(e.errors) && e.errors.length) e = e.errors[0] as typeof e;
    else e = e.cause as typeof e;
  }
  return undefined;
}

/** Maps a transport error to the gateway's upstream error codes. */
export function mapTransportError(upstream: string, err: unknown, timeoutMs: number): GatewayError {
  if (isGatewayError(err)) return err;
  if ((err as Error)?.name === 'HeadersTimeoutError' || (err as { code?: string })?.code === 'UND_ERR_HEADERS_TIMEOUT' || (err as { code?: string })?.code === 'UND_ERR_BODY_TIMEOUT') {
    return UpstreamTimeout(upstream, timeoutMs).asUpstreamFailure(err);
  }
  const code = errorCode(err);
  const reason = code && CONNECTION_CODES.has(code) ? code : code ?? (err as Error)?.message ?? 'request failed';
  return UpstreamUnavailable(upstream, reason).asUpstreamFailure(err);
}

/** Backstop for undici's own (coarse) headers timer, past the wheel's deadline. */
const UNDICI_BACKSTOP_MS = 1_000;

interface UploadWaiter {
  wake: () => void;
  timer: NodeJS.Timeout;
}

export interface JsonResponse<T> {
  status: number;
  data: T;
}

export class HttpUpstream implements UpstreamInfo, DeadlineReason, CallOwner {
  readonly name: string;
  readonly protocol = 'http' as const;
  readonly config: UpstreamConfig;
  readonly targets: Target[];
  readonly tls: UpstreamTls | undefined;
  readonly #pools: Pool[];
  readonly #invoke: Invoke<HttpCall, HttpResult>;
  readonly #log: UpstreamLog | undefined;
  readonly #maxUploads: number;
  /** Calls one target's pool carries at once: connections × pipelining depth. */
  readonly #slots: number;
  #uploads = 0;
  readonly #uploadWaiters: UploadWaiter[] = [];

  constructor(name: string, config: UpstreamConfig, interceptors: Interceptor[], log?: UpstreamLog, tls?: UpstreamTls) {
    this.name = name;
    this.tls = tls;
    this.config = config;
    this.#log = log;
    this.#maxUploads = config.maxStreamingUploads ?? Math.max(1, Math.floor(config.connections / 2));
    this.targets = createTargets(config);
    this.#slots = config.connections * config.pipelining;
    this.#pools = this.targets.map(
      (t) =>
        new Pool(t.url, {
          connections: config.connections,
          pipelining: config.pipelining,
          keepAliveTimeout: 30_000,
          // With `tls`: CA, client certificate and SNI for https:// targets (tls.connect options).
          connect: { timeout: Math.min(config.timeoutMs, 10_000), ...tls },
        }),
    );
    let invoke: Invoke<HttpCall, HttpResult> = (call) => this.#send(call);
    for (let i = interceptors.length - 1; i >= 0; i--) invoke = interceptors[i]!(invoke, this);
    this.#invoke = invoke;
  }

  isFailure(result: unknown): boolean {
    return (result as HttpResult).statusCode >= 500;
  }

  /** Sends a call through the interceptor chain. The result body must be consumed or destroyed. */
  request(call: HttpCall): Promise<HttpResult> {
    return this.#invoke(call);
  }

  /** A fresh call object with defaults filled, bounded by the request's deadline and this upstream's timeout. */
  call(ctx: RequestContext | undefined, method: string, path: string | UpstreamPath, body: HttpCall['body'] = null, headers: HttpCall['headers'] = {}, timeoutMs = this.config.timeoutMs): HttpCall {
    const own = Date.now() + timeoutMs;
    const deadline = ctx && ctx.deadline < own ? ctx.deadline : own;
    return {
      deadline,
      idempotent: method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE',
      ctx,
      target: undefined,
      attempt: 0,
      avoid: 0,
      method,
      // Refuses a hand-built path with dot segments or `#` before anything is sent.
      path: resolveUpstreamPath(path),
      headers,
      body,
    };
  }

  /**
   * Calls the upstream and parses a JSON answer: 2xx → data, 404 → null, anything else → an
   * UPSTREAM_ERROR (5xx marked as the upstream's failure).
   */
  async json<T>(ctx: RequestContext | undefined, method: string, path: string | UpstreamPath, payload?: unknown, extraHeaders?: Record<string, string>): Promise<T | null> {
    // Extra headers first: the gateway's own (identity, request id, content type) always win.
    const headers: Record<string, string> = extraHeaders ? { ...extraHeaders, accept: 'application/json' } : { accept: 'application/json' };
    if (ctx) {
      headers['x-request-id'] = ctx.id;
      writeIdentityHeaders(headers, ctx.identity, true);
    }
    let body: string | null = null;
    if (payload !== undefined) {
      body = JSON.stringify(payload);
      headers['content-type'] = 'application/json';
    }
    const call = this.call(ctx, method, path, body, headers);
    call.readJson = true;
    const result = await this.request(call);
    if (ctx) ctx.upstreamCalls++;
    const { statusCode } = result;
    if (statusCode === 404) return null;
    if (statusCode < 200 || statusCode >= 300) {
      // The body may hold internals (stack traces, queries): the log keeps it, the client never sees it.
      this.#log?.warn({ upstream: this.name, requestId: ctx?.id, status: statusCode, body: result.errorText }, 'upstream error answer');
      const err = statusCode === 504 ? UpstreamReportedTimeout(this.name, 'HTTP 504') : UpstreamError(this.name, `HTTP ${statusCode}`);
      if (statusCode >= 500) err.asUpstreamFailure();
      throw err;
    }
    // Read and parsed inside the call (JsonCall), so an unreadable answer counts against its target.
    return (result.json ?? null) as T;
  }

  /** Logs a 2xx answer a JSON call could not read (its start only). */
  unreadable(ctx: RequestContext | undefined, contentType: unknown, body: string, err: unknown): void {
    this.#log?.warn({ upstream: this.name, requestId: ctx?.id, contentType, body, parseError: (err as Error | undefined)?.message }, 'upstream answer not readable as JSON');
  }

  /** The error a call fails with when the deadline wheel ends it (see {@link DeadlineReason}). */
  timeoutError(d: CallDeadline): Error {
    const err = UpstreamTimeout(this.name, d.budgetMs);
    // Waiting in our own pool queue says nothing about the upstream: the calls ahead of it count.
    return d.queued ? markNeutral(err) : err.asUpstreamFailure();
  }

  #send(call: HttpCall): Promise<HttpResult> {
    const target = call.target ?? this.targets[0]!;
    const pool = this.#pools[target.index]!;
    const remaining = Math.ceil(call.deadline - Date.now());
    // No time left before anything was sent (an earlier try or the request used it up): the target is not to blame.
    if (remaining <= 0) return Promise.reject(markNeutral(UpstreamTimeout(this.name, this.config.timeoutMs)));
    // A streamed upload takes as long as the client sends: its clock starts when the body has been
    // sent (undici's headers timeout, as Envoy's route timeout), so the wheel is not used for it.
    // Only while it waits for a connection in a saturated pool does the wheel bound it (as every call).
    const queued = this.#saturated(target);
    const streamedUpload = !queued && !call.readJson && call.body !== null && typeof (call.body as Readable).pipe === 'function';
    const deadline = streamedUpload ? null : scheduleDeadline(call.deadline, remaining, this);
    if (deadline) deadline.queued = queued;
    return new Promise<HttpResult>((resolve, reject) => {
      // A JSON call collects its answer within the deadline; a streamed one hands its body over at the head.
      const handler = call.readJson
        ? new JsonCall(this, call, target, deadline, remaining, resolve, reject)
        : new StreamCall(this, call, target, deadline, remaining, resolve, reject);
      pool.dispatch(
        {
          method: call.method as 'GET',
          path: call.path,
          headers: call.headers as Record<string, string>,
          body: call.body,
          // The wheel keeps the deadline; undici's coarse timers are only a backstop for the head,
          // and bound each pause of a streamed body.
          headersTimeout: streamedUpload ? remaining : remaining + UNDICI_BACKSTOP_MS,
          bodyTimeout: remaining,
        },
        handler,
      );
    });
  }

  /** What a call that failed before its answer's head reports: the client's fault if it was one, else the transport's error mapped. */
  failure(call: HttpCall, err: unknown, remaining: number): Error {
    const ctx = call.ctx;
    if (!ctx) return mapTransportError(this.name, err, remaining);
    const fault = clientFault(ctx.req);
    if (fault) return fault;
    // Still sending the client's body when the time ran out: the client was too slow, not the upstream.
    if (!ctx.req.complete && call.body !== null && typeof call.body === 'object' && !Buffer.isBuffer(call.body)) return RequestTimeout(remaining);
    return mapTransportError(this.name, err, remaining);
  }

  /**
   * True when a new request would wait in the target's pool for a connection: every connection
   * (times the pipelining depth) already carries one of this upstream's calls. Read from the
   * target's own count of calls in flight, not `pool.stats`, which builds an object and walks
   * every connection of the pool on each read.
   */
  #saturated(target: Target): boolean {
    return target.active >= this.#slots;
  }

  /**
   * Waits (until `deadline`) for one of the `maxStreamingUploads` slots; resolves with its release.
   * Over the deadline: UPSTREAM_UNAVAILABLE, not counted against the upstream.
   */
  uploadSlot(deadline: number): Promise<() => void> {
    if (this.#uploads < this.#maxUploads) {
      this.#uploads++;
      return Promise.resolve(this.#releaseUpload);
    }
    const wait = deadline - Date.now();
    if (wait <= 0) return Promise.reject(UpstreamUnavailable(this.name, 'too many streamed uploads in progress'));
    return new Promise((resolve, reject) => {
      const waiter: UploadWaiter = {
        wake: () => {
          clearTimeout(waiter.timer);
          this.#uploads++;
          resolve(this.#releaseUpload);
        },
        timer: setTimeout(() => {
          this.#uploadWaiters.splice(this.#uploadWaiters.indexOf(waiter), 1);
          reject(UpstreamUnavailable(this.name, 'too many streamed uploads in progress'));
        }, wait),
      };
      this.#uploadWaiters.push(waiter);
    });
  }

  readonly #releaseUpload = (): void => {
    this.#uploads--;
    this.#uploadWaiters.shift()?.wake();
  };

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.close().catch(() => p.destroy())));
  }
}
