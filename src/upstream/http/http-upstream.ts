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
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { RequestTimeout, UpstreamError, UpstreamReportedTimeout, UpstreamTimeout, UpstreamUnavailable, isGatewayError, GatewayError } from '../../errors.js';
import { clientFault, markNeutral } from '../../client-fault.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { HttpCall, HttpResult, Interceptor, Invoke, Target, UpstreamBody, UpstreamInfo, UpstreamLog } from '../types.js';
import { createTargets } from '../targets.js';
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

/** How much of an upstream's error body the log keeps. */
const LOGGED_BODY_BYTES = 2048;

/** Media types a `json()` call reads: application/json and any `+json` type. */
function isJsonType(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The first LOGGED_BODY_BYTES of the kept chunks, as text. */
function prefixText(chunks: Buffer[], size: number): string {
  return Buffer.concat(chunks, size).subarray(0, LOGGED_BODY_BYTES).toString('utf8');
}

/**
 * The undici dispatch handler of one JSON call (HttpUpstream#json): collects the answer's bytes
 * and settles the call with its status, headers and parsed JSON. A 2xx JSON answer is kept whole
 * (up to `maxResponseBytes`, past which the call fails); of any other answer only what the log
 * shows is kept, and the rest is read and dropped so the connection stays reusable.
 */
class JsonCall implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;
  /** Keep every byte (a 2xx JSON answer that will be parsed), or only a log's worth. */
  #whole = false;
  #settled = false;
  readonly #upstream: HttpUpstream;
  readonly #call: HttpCall;
  readonly #target: Target;
  readonly #deadline: CallDeadline;
  readonly #remaining: number;
  readonly #resolve: (r: HttpResult) => void;
  readonly #reject: (e: unknown) => void;

  constructor(upstream: HttpUpstream, call: HttpCall, target: Target, deadline: CallDeadline, remaining: number, resolve: (r: HttpResult) => void, reject: (e: unknown) => void) {
    this.#upstream = upstream;
    this.#call = call;
    this.#target = target;
    this.#deadline = deadline;
    this.#remaining = remaining;
    this.#resolve = resolve;
    this.#reject = reject;
    target.active++;
    deadline.addEventListener('abort', this.#onDeadline);
  }

  /** The wheel ran out: abort the exchange, or (still queued for a connection) fail at once. */
  readonly #onDeadline = (): void => {
    const reason = this.#deadline.reason;
    if (this.#controller) this.#controller.abort(reason as Error);
    else this.#fail(reason);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#deadline.queued = false;
    // Failed while it waited for a connection: dropped before it is written.
    if (this.#settled) controller.abort(this.#deadline.reason as Error);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = status;
    this.#headers = headers as IncomingHttpHeaders;
    this.#whole = status >= 200 && status < 300 && status !== 204 && isJsonType(headers['content-type']);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#whole) {
      const limit = this.#upstream.config.maxResponseBytes;
      if (this.#size > limit) {
        controller.abort(UpstreamError(this.#upstream.name, `an answer over maxResponseBytes (${limit} bytes)`).asUpstreamFailure());
        return;
      }
    } else if (this.#kept >= LOGGED_BODY_BYTES) {
      return;
    }
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const status = this.#status;
    const result: HttpResult = { statusCode: status, headers: this.#headers, body: null, target: this.#target, json: undefined };
    if (status < 200 || status >= 300) {
      result.errorText = prefixText(this.#chunks, this.#kept);
    } else if (status !== 204) {
      const up = this.#upstream;
      const contentType = this.#headers['content-type'];
      if (!this.#whole) {
        up.unreadable(this.#call.ctx, contentType, prefixText(this.#chunks, this.#kept), undefined);
        this.#fail(UpstreamError(up.name, 'a body that is not JSON').asUpstreamFailure());
        return;
      }
      const text = this.#chunks.length === 1 ? this.#chunks[0]!.toString('utf8') : Buffer.concat(this.#chunks, this.#kept).toString('utf8');
      try {
        result.json = JSON.parse(text);
      } catch (err) {
        // The parser's message quotes the body: it goes to the log only.
        up.unreadable(this.#call.ctx, contentType, text.slice(0, LOGGED_BODY_BYTES), err);
        this.#fail(UpstreamError(up.name, 'a body that is not valid JSON').asUpstreamFailure());
        return;
      }
    }
    this.#done();
    this.#resolve(result);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.#fail(err);
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#done();
    this.#reject(this.#upstream.failure(this.#call, err, this.#remaining));
  }

  #done(): void {
    this.#settled = true;
    this.#chunks = [];
    this.#deadline.removeEventListener('abort', this.#onDeadline);
    this.#deadline.cancel();
    this.#target.active--;
  }
}

/** Where the body of a {@link StreamCall} goes: not taken yet, a writable, a Readable, nowhere. */
const HELD = 0;
const SINK = 1;
const STREAM = 2;
const DROPPED = 3;

const SOURCE = Symbol('upstream.body');
type Sink = Writable & { [SOURCE]?: StreamCall };

function onSinkDrain(this: Sink): void {
  this[SOURCE]?.pull();
}

function onSinkClose(this: Sink): void {
  this[SOURCE]?.sinkClosed();
}

/** A {@link StreamCall}'s body as a Node Readable: reading resumes the upstream, destroying it ends the exchange. */
class BodyReadable extends Readable {
  readonly #source: StreamCall;

  constructor(source: StreamCall) {
    // As undici's own body stream.
    super({ highWaterMark: 65_536 });
    this.#source = source;
  }

  override _read(): void {
    this.#source.pull();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#source.destroy(err ?? undefined);
    cb(err);
  }
}

/**
 * The undici dispatch handler of one streamed (passthrough) call, and the body of its answer
 * ({@link UpstreamBody}): settles the call at the answer's head, with the upstream paused until
 * a consumer takes the body; then writes each chunk straight to that consumer (no body stream of
 * undici's), pausing the upstream while the consumer is full. A failure mid-body destroys the
 * consumer; a consumer closed before the end aborts the exchange (its connection is closed).
 */
class StreamCall implements Dispatcher.DispatchHandler, UpstreamBody {
  #controller: Dispatcher.DispatchController | undefined;
  #mode = HELD;
  #sink: Writable | undefined;
  #stream: BodyReadable | undefined;
  /** Chunks that came before a consumer took the body (the upstream is paused at the head, so at most one). */
  #held: Buffer[] | undefined;
  #ended = false;
  /** Why the exchange ended before the body's end. */
  #error: Error | undefined;
  /** Resolved at the head, or failed before it. */
  #settled = false;
  /** The exchange is over: ended, failed or aborted. */
  #closed = false;
  #onClose: (() => void) | undefined;
  readonly #upstream: HttpUpstream;
  readonly #call: HttpCall;
  readonly #target: Target;
  /** Null for a streamed upload that did not wait for a connection (see HttpUpstream#send). */
  readonly #deadline: CallDeadline | null;
  readonly #remaining: number;
  readonly #resolve: (r: HttpResult) => void;
  readonly #reject: (e: unknown) => void;

  constructor(upstream: HttpUpstream, call: HttpCall, target: Target, deadline: CallDeadline | null, remaining: number, resolve: (r: HttpResult) => void, reject: (e: unknown) => void) {
    this.#upstream = upstream;
    this.#call = call;
    this.#target = target;
    this.#deadline = deadline;
    this.#remaining = remaining;
    this.#resolve = resolve;
    this.#reject = reject;
    target.active++;
    deadline?.addEventListener('abort', this.#onDeadline);
  }

  /** The wheel ran out before the head: abort the exchange, or (still queued for a connection) fail at once. */
  readonly #onDeadline = (): void => {
    const reason = this.#deadline!.reason;
    if (this.#controller) this.#controller.abort(reason as Error);
    else this.#fail(reason);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#deadline) this.#deadline.queued = false;
    // Failed while it waited for a connection: dropped before it is written.
    if (this.#settled) controller.abort(this.#deadline!.reason as Error);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.#settled = true;
    const d = this.#deadline;
    // The body is bounded per pause between chunks (undici's bodyTimeout) from here on.
    if (d) {
      d.removeEventListener('abort', this.#onDeadline);
      d.cancel();
    }
    // Held until the caller takes the body (HEAD, 204 and 304 answers end at once all the same).
    controller.pause();
    this.#resolve({ statusCode: status, headers: headers as IncomingHttpHeaders, body: this, target: this.#target, json: undefined });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#mode) {
      case SINK:
        if (!this.#sink!.write(chunk)) controller.pause();
        return;
      case STREAM:
        if (!this.#stream!.push(chunk)) controller.pause();
        return;
      case HELD:
        (this.#held ??= []).push(chunk);
        controller.pause();
        return;
      default:
      // DROPPED: read and let go, so the connection is reused.
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#mode === SINK) this.#sink!.end();
    else if (this.#mode === STREAM) this.#stream!.push(null);
    this.#close();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.#closed) return;
    if (!this.#settled) {
      this.#fail(err);
      return;
    }
    // Mid-body: the answer's head is out; the consumer is cut off.
    this.#error = err;
    if (this.#mode === SINK) this.#sink!.destroy(err);
    else if (this.#mode === STREAM) this.#stream!.destroy(err);
    this.#close();
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const d = this.#deadline;
    if (d) {
      d.removeEventListener('abort', this.#onDeadline);
      d.cancel();
    }
    this.#close();
    this.#reject(this.#upstream.failure(this.#call, err, this.#remaining));
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#target.active--;
    const fn = this.#onClose;
    this.#onClose = undefined;
    fn?.();
  }

  sendTo(dest: Writable): void {
    this.#mode = SINK;
    this.#sink = dest;
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      for (const c of held) dest.write(c);
    }
    if (this.#ended) {
      dest.end();
      return;
    }
    if (this.#closed || dest.destroyed) {
      // Failed or dropped before it was taken, or the client already left.
      dest.destroy(this.#error);
      this.destroy();
      return;
    }
    (dest as Sink)[SOURCE] = this;
    dest.on('drain', onSinkDrain);
    dest.once('close', onSinkClose);
    if (!dest.writableNeedDrain) this.#controller!.resume();
  }

  readable(): Readable {
    const stream = new BodyReadable(this);
    this.#mode = STREAM;
    this.#stream = stream;
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      for (const c of held) stream.push(c);
    }
    if (this.#ended) stream.push(null);
    else if (this.#closed) stream.destroy(this.#error);
    return stream;
  }

  resume(): void {
    if (this.#mode !== HELD) return;
    this.#mode = DROPPED;
    this.#held = undefined;
    if (!this.#closed) this.#controller!.resume();
  }

  destroy(err?: Error): void {
    if (this.#closed) return;
    const mode = this.#mode;
    // Our consumer is ended here, with `err` only if one was given (no 'error' nobody listens to).
    this.#mode = DROPPED;
    if (mode === SINK) this.#sink!.destroy(err);
    else if (mode === STREAM) this.#stream!.destroy(err);
    this.#controller!.abort(err ?? new Error('upstream answer dropped before its end'));
  }

  onClose(fn: () => void): void {
    if (this.#closed) {
      fn();
      return;
    }
    const prev = this.#onClose;
    this.#onClose = prev ? () => { prev(); fn(); } : fn;
  }

  /** The consumer wants more (a sink drained, or the Readable is read). */
  pull(): void {
    if (!this.#closed) this.#controller!.resume();
  }

  /** The sink closed: before the body's end, that ends the exchange (a client that left). */
  sinkClosed(): void {
    if (!this.#closed) this.destroy();
  }
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

export class HttpUpstream implements UpstreamInfo, DeadlineReason {
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
    if (call.readJson) return this.#sendJson(call, target, pool, remaining, queued);
    const streamedUpload = !queued && call.body !== null && typeof (call.body as Readable).pipe === 'function';
    const deadline = streamedUpload ? null : scheduleDeadline(call.deadline, remaining, this);
    if (deadline) deadline.queued = queued;
    return new Promise<HttpResult>((resolve, reject) => {
      const handler = new StreamCall(this, call, target, deadline, remaining, resolve, reject);
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

  /**
   * A JSON call: dispatched with a handler that collects the answer (no body stream), within the
   * deadline and `maxResponseBytes`. The wheel's abort ends it whether it is queued or under way.
   */
  #sendJson(call: HttpCall, target: Target, pool: Pool, remaining: number, queued: boolean): Promise<HttpResult> {
    const deadline = scheduleDeadline(call.deadline, remaining, this);
    deadline.queued = queued;
    return new Promise<HttpResult>((resolve, reject) => {
      const handler = new JsonCall(this, call, target, deadline, remaining, resolve, reject);
      pool.dispatch(
        {
          method: call.method as 'GET',
          path: call.path,
          headers: call.headers as Record<string, string>,
          body: call.body as string | Buffer | null,
          headersTimeout: remaining + UNDICI_BACKSTOP_MS,
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
