/**
 * An HTTP upstream: one undici Pool (keep-alive) per target, behind the interceptor chain.
 * The transport enforces the call's deadline over connect, headers and body with undici's own
 * timers; only when the pool is saturated (the call would queue) does a call get an abort
 * timer of its own, so the deadline also covers the wait for a connection.
 *
 * Streamed uploads hold a connection for as long as the client takes to send; at most
 * `maxStreamingUploads` of them run at once, so slow uploaders cannot take every connection.
 */
import { Pool } from 'undici';
import type { Readable } from 'node:stream';
import { RequestTimeout, UpstreamError, UpstreamTimeout, UpstreamUnavailable, isGatewayError, GatewayError } from '../../errors.js';
import { clientFault, markNeutral } from '../../client-fault.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { HttpCall, HttpResult, Interceptor, Invoke, Target, UpstreamInfo, UpstreamLog } from '../types.js';
import { createTargets } from '../targets.js';
import { resolveUpstreamPath, type UpstreamPath } from './path-template.js';

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

interface UploadWaiter {
  wake: () => void;
  timer: NodeJS.Timeout;
}

export interface JsonResponse<T> {
  status: number;
  data: T;
}

export class HttpUpstream implements UpstreamInfo {
  readonly name: string;
  readonly protocol = 'http' as const;
  readonly config: UpstreamConfig;
  readonly targets: Target[];
  readonly #pools: Pool[];
  readonly #invoke: Invoke<HttpCall, HttpResult>;
  readonly #log: UpstreamLog | undefined;
  readonly #maxUploads: number;
  #uploads = 0;
  readonly #uploadWaiters: UploadWaiter[] = [];

  constructor(name: string, config: UpstreamConfig, interceptors: Interceptor[], log?: UpstreamLog) {
    this.name = name;
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
          connect: { timeout: Math.min(config.timeoutMs, 10_000) },
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
  async json<T>(ctx: RequestContext | undefined, method: string, path: string | UpstreamPath, payload?: unknown): Promise<T | null> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (ctx) {
      headers['x-request-id'] = ctx.id;
      const id = ctx.identity;
      if (id && id.kind !== 'anonymous') {
        if (id.subject) headers['x-user-id'] = id.subject;
        headers['x-user-roles'] = id.roles.join(',');
        headers['x-client-id'] = id.clientId;
      }
    }
    let body: string | null = null;
    if (payload !== undefined) {
      body = JSON.stringify(payload);
      headers['content-type'] = 'application/json';
    }
    const result = await this.request(this.call(ctx, method, path, body, headers));
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
      const err = UpstreamError(this.name, `HTTP ${statusCode}`);
      if (statusCode >= 500) err.asUpstreamFailure();
      throw err;
    }
    try {
      return (await (result.body as Readable & { json(): Promise<unknown> }).json()) as T;
    } catch (err) {
      throw mapTransportError(this.name, err, this.config.timeoutMs);
    }
  }

  async #send(call: HttpCall): Promise<HttpResult> {
    const target = call.target ?? this.targets[0]!;
    const pool = this.#pools[target.index]!;
    const remaining = Math.ceil(call.deadline - Date.now());
    if (remaining <= 0) throw UpstreamTimeout(this.name, this.config.timeoutMs).asUpstreamFailure();
    target.active++;
    const queue = this.#saturated(pool) ? new AbortController() : undefined;
    let res;
    try {
      // The deadline bounds the wait for the answer's head; once the body streams, it bounds each
      // pause between chunks (a long download keeps going while data flows). undici's own timers
      // serve both, so a call on a free connection costs no AbortController and no timer of ours.
      const sent = pool.request({
        method: call.method as 'GET',
        path: call.path,
        headers: call.headers as Record<string, string>,
        body: call.body,
        headersTimeout: remaining,
        bodyTimeout: remaining,
        signal: queue?.signal,
      });
      res = queue ? await this.#withQueueDeadline(sent, queue, remaining) : await sent;
    } catch (err) {
      target.active--;
      const fault = call.ctx && clientFault(call.ctx.req);
      if (fault) throw fault;
      // Still sending the client's body when the time ran out: the client was too slow, not the upstream.
      if (call.ctx && !call.ctx.req.complete && call.body !== null && typeof call.body === 'object' && !Buffer.isBuffer(call.body)) {
        throw RequestTimeout(remaining);
      }
      throw mapTransportError(this.name, err, remaining);
    }
    const body = res.body;
    body.once('close', () => {
      target.active--;
    });
    return { statusCode: res.statusCode, headers: res.headers, body, target };
  }

  /** True when a new request would wait in the pool's queue for a connection. */
  #saturated(pool: Pool): boolean {
    const s = pool.stats;
    return s.queued > 0 || (s.free === 0 && s.connected >= this.config.connections);
  }

  /**
   * For a call that will queue: undici's headers timer only starts once the request is written,
   * and a queued request sees its abort only when a connection takes it, so without this a
   * queued call could wait past its deadline. Such a timeout is not counted against the upstream
   * (the calls ahead of it are, and they count).
   */
  #withQueueDeadline<T>(sent: Promise<T>, controller: AbortController, remaining: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = markNeutral(UpstreamTimeout(this.name, remaining));
        // The request leaves the queue unsent: undici drops an aborted request when a connection takes it.
        controller.abort(err);
        reject(err);
      }, remaining);
      sent.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
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
