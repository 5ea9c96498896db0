/**
 * An HTTP upstream: one undici Pool (keep-alive) per target, behind the interceptor chain.
 * The call's deadline is kept by the shared deadline wheel (src/upstream/deadline-wheel.ts),
 * within about 20 ms, over the wait for a connection, connect and headers, and for `json()`
 * calls over the body too. A streamed (passthrough) body is then bounded per pause between
 * chunks by undici's body timeout, so a long download keeps going while data flows.
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
import type { UpstreamTls } from '../../http/tls-files.js';
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

async function bodyPrefix(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= LOGGED_BODY_BYTES) break;
    }
  } catch {
    // A body that fails half-way is logged as far as it came.
  }
  body.destroy();
  return Buffer.concat(chunks, size).subarray(0, LOGGED_BODY_BYTES).toString('utf8');
}

/** Media types a `json()` call reads: application/json and any `+json` type. */
function isJsonType(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Backstop for undici's own (coarse) headers timer, past the wheel's deadline. */
const UNDICI_BACKSTOP_MS = 1_000;

/** Stands in for a wheel entry where the wheel is not used (streamed uploads): never fires. */
const NO_DEADLINE = new CallDeadline();

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
  #uploads = 0;
  readonly #uploadWaiters: UploadWaiter[] = [];

  constructor(name: string, config: UpstreamConfig, interceptors: Interceptor[], log?: UpstreamLog, tls?: UpstreamTls) {
    this.name = name;
    this.tls = tls;
    this.config = config;
    this.#log = log;
    this.#maxUploads = config.maxStreamingUploads ?? Math.max(1, Math.floor(config.connections / 2));
    this.targets = createTargets(config);
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
      const id = ctx.identity;
      if (id && id.kind !== 'anonymous') {
        if (id.subject) headers['x-user-id'] = id.subject;
        headers['x-user-roles'] = id.roles.join(',');
        headers['x-client-id'] = id.clientId;
        if (id.accessToken !== undefined) headers.authorization = `Bearer ${id.accessToken}`;
      }
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
    if (statusCode === 404) {
      result.body.resume();
      return null;
    }
    if (statusCode < 200 || statusCode >= 300) {
      // The body may hold internals (stack traces, queries): the log keeps it, the client never sees it.
      if (this.#log) this.#log.warn({ upstream: this.name, requestId: ctx?.id, status: statusCode, body: await bodyPrefix(result.body) }, 'upstream error answer');
      else result.body.resume();
      const err = statusCode === 504 ? UpstreamReportedTimeout(this.name, 'HTTP 504') : UpstreamError(this.name, `HTTP ${statusCode}`);
      if (statusCode >= 500) err.asUpstreamFailure();
      throw err;
    }
    // Read and parsed inside the call (see #readJson), so an unreadable answer counts against its target.
    return (result.json ?? null) as T;
  }

  /**
   * The JSON of a 2xx answer, read inside the interceptor chain: an answer we cannot read (wrong
   * media type, invalid JSON, reset or out of time half-way) fails the call there, so passive
   * detection counts it against the target and the client sees UPSTREAM_ERROR / _TIMEOUT.
   */
  async #readJson(call: HttpCall, result: HttpResult): Promise<void> {
    const contentType = result.headers['content-type'];
    if (!isJsonType(contentType)) {
      this.#unreadable(call.ctx, contentType, await bodyPrefix(result.body), undefined);
      throw UpstreamError(this.name, 'a body that is not JSON').asUpstreamFailure();
    }
    let text: string;
    try {
      text = await (result.body as Readable & { text(): Promise<string> }).text();
    } catch (err) {
      // Reset, or the deadline ran out while the body was arriving.
      throw mapTransportError(this.name, err, this.config.timeoutMs);
    }
    try {
      result.json = JSON.parse(text);
    } catch (err) {
      // The parser's message quotes the body: it goes to the log only.
      this.#unreadable(call.ctx, contentType, text.slice(0, LOGGED_BODY_BYTES), err);
      throw UpstreamError(this.name, 'a body that is not valid JSON').asUpstreamFailure();
    }
  }

  #unreadable(ctx: RequestContext | undefined, contentType: unknown, body: string, err: unknown): void {
    this.#log?.warn({ upstream: this.name, requestId: ctx?.id, contentType, body, parseError: (err as Error | undefined)?.message }, 'upstream answer not readable as JSON');
  }

  /** The error a call fails with when the deadline wheel ends it (see {@link DeadlineReason}). */
  timeoutError(d: CallDeadline): Error {
    const err = UpstreamTimeout(this.name, d.budgetMs);
    // Waiting in our own pool queue says nothing about the upstream: the calls ahead of it count.
    return d.queued ? markNeutral(err) : err.asUpstreamFailure();
  }

  async #send(call: HttpCall): Promise<HttpResult> {
    const target = call.target ?? this.targets[0]!;
    const pool = this.#pools[target.index]!;
    const remaining = Math.ceil(call.deadline - Date.now());
    // No time left before anything was sent (an earlier try or the request used it up): the target is not to blame.
    if (remaining <= 0) throw markNeutral(UpstreamTimeout(this.name, this.config.timeoutMs));
    target.active++;
    // A streamed upload takes as long as the client sends: its clock starts when the body has been
    // sent (undici's headers timeout, as Envoy's route timeout), so the wheel is not used for it.
    // Only while it waits for a connection in a saturated pool does the wheel bound it (as every call).
    const queued = this.#saturated(pool);
    const streamedUpload = !queued && call.body !== null && typeof (call.body as Readable).pipe === 'function';
    const deadline = streamedUpload ? NO_DEADLINE : scheduleDeadline(call.deadline, remaining, this);
    let res;
    try {
      const sent = pool.request({
        method: call.method as 'GET',
        path: call.path,
        headers: call.headers as Record<string, string>,
        body: call.body,
        // The wheel keeps the deadline; undici's coarse timers are only a backstop for the head,
        // and bound each pause of a streamed body.
        headersTimeout: streamedUpload ? remaining : remaining + UNDICI_BACKSTOP_MS,
        bodyTimeout: remaining,
        signal: streamedUpload ? undefined : (deadline as unknown as AbortSignal),
      });
      if (queued) {
        // A queued request sees its abort only when a connection takes it: end the wait ourselves.
        deadline.queued = true;
        res = await abortable(sent, deadline);
      } else {
        res = await sent;
      }
    } catch (err) {
      deadline.cancel();
      target.active--;
      const fault = call.ctx && clientFault(call.ctx.req);
      if (fault) throw fault;
      // Still sending the client's body when the time ran out: the client was too slow, not the upstream.
      if (call.ctx && !call.ctx.req.complete && call.body !== null && typeof call.body === 'object' && !Buffer.isBuffer(call.body)) {
        throw RequestTimeout(remaining);
      }
      throw mapTransportError(this.name, err, remaining);
    }
    if (queued) deadline.queued = false;
    const body = res.body;
    // A streamed answer is bounded per pause from here on; a json() call keeps the deadline over its body.
    if (!call.readJson) deadline.cancel();
    body.once('close', () => {
      deadline.cancel();
      target.active--;
    });
    const result: HttpResult = { statusCode: res.statusCode, headers: res.headers, body, target, json: undefined };
    if (call.readJson && res.statusCode >= 200 && res.statusCode < 300 && res.statusCode !== 204) await this.#readJson(call, result);
    return result;
  }

  /** True when a new request would wait in the pool's queue for a connection. */
  #saturated(pool: Pool): boolean {
    const s = pool.stats;
    return s.queued > 0 || (s.free === 0 && s.connected >= this.config.connections);
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

/** Settles with `sent`, or rejects with the deadline's timeout as soon as it fires. */
function abortable<T>(sent: Promise<T>, deadline: CallDeadline): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(deadline.reason);
    deadline.addEventListener('abort', onAbort);
    sent.then(
      (v) => {
        deadline.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        deadline.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
