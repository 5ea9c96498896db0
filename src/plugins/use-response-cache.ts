/**
 * Response cache for passthrough routes with `cache.ttlSec`, a shared cache in the sense of
 * RFC 9111, with http-cache-semantics (`shared: true`) deciding what may be stored and reused.
 *
 * - Only GET answers with status 200 are stored. Never stored: `Cache-Control: no-store`,
 *   `private`, `no-cache` (or `Pragma: no-cache` without Cache-Control), `must-revalidate` /
 *   `proxy-revalidate` (this cache does not revalidate), a directive given twice, `Vary: *`,
 *   any `Set-Cookie`, a request with `Cache-Control: no-store`, a body over `maxEntryBytes`
 *   (it is streamed to the client untouched). Directive names are compared case-insensitively.
 * - Freshness: the upstream's `s-maxage`, else `max-age`, else `Expires`, less its `Age`, and
 *   never longer than the route's `ttlSec`; without any of them, `ttlSec`. A response already
 *   stale (`max-age=0`, a large `Age`) is not stored. A client's `Cache-Control: no-cache` or
 *   `max-age` is honoured on lookup.
 * - `Vary`: each variant is stored under the primary key plus the values of the varied request
 *   headers; the primary key then holds only the list of varied names. A `Content-Encoding`
 *   answer always varies on Accept-Encoding, declared or not.
 * - What an entry may be reused for (method, scheme, host, path, query, steering headers,
 *   identity; credentialed requests on routes without auth bypass) is ./../proxy/cache-key.ts.
 *
 * Hits carry `X-Cache: HIT` and `Age`, misses `X-Cache: MISS`, bypasses `X-Cache: BYPASS`.
 * Concurrent misses for one key (in one instance) make one upstream call; the others wait for
 * it, at most `coalesceWaitMs` and never past the request's deadline, then look again.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import CachePolicy from 'http-cache-semantics';
import type { RedisConfig } from '../config/schema.js';
import { StateKey, type RequestContext } from '../context.js';
import { createCacheKeyer, variantKey, varyFields } from '../proxy/cache-key.js';
import {
  MemoryCacheStore, RedisCacheStore, policyResponseHeaders,
  type CacheRecord, type CacheStore, type CachedResponse,
} from '../proxy/cache-store.js';
import { RESPONSE_TAP, sendBuffer, type ResponseTap } from '../proxy/respond.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useResponseCache}. */
export interface ResponseCacheOptions {
  /** Route name → longest freshness in seconds (`routes[].cache.ttlSec`). */
  routes: Record<string, number>;
  /** Routes whose entries are kept per identity (`auth` other than `none`, or `roles`). @default [] */
  identityRoutes?: string[];
  /** The API-key header name (a credential: requests carrying it bypass routes without auth). @default undefined */
  apiKeyHeader?: string;
  /** Keep entries in Redis (shared by instances) instead of process memory. @default undefined */
  redis?: RedisConfig;
  logger?: Logger;
  /** Largest body stored, in bytes; larger answers are streamed and not kept. @default 1048576 */
  maxEntryBytes?: number;
  /** All entries together in process memory, in bytes (memory store only). @default 67108864 */
  maxBytes?: number;
  /** Longest a request waits for another's identical miss before going upstream itself. @default 30000 */
  coalesceWaitMs?: number;
}

interface Fill {
  key: string;
  ttlMs: number;
  request: CachePolicy.Request;
  promise: Promise<void>;
  release: () => void;
}

/** ctx.state key of the fill this request leads. */
const FILL = new StateKey<Fill>('cache.fill');

/** Directives that ask for revalidation before reuse; this cache does not revalidate, so it does not store them. */
const NEEDS_REVALIDATION = /(?:^|[\s,])(?:no-cache|must-revalidate|proxy-revalidate)\b/i;
const EXPLICIT_FRESHNESS = /(?:^|[\s,])(?:s-maxage|max-age)\s*=/i;

type Maybe<T> = T | Promise<T>;

function then<T, U>(v: Maybe<T>, f: (t: T) => Maybe<U>): Maybe<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

class ResponseCache implements ResponseTap {
  /** Keys being fetched → settles when the leader is done (stored or not). Bounded by requests in flight. */
  readonly #pending = new Map<string, Fill>();
  readonly store: CacheStore;
  readonly #maxEntryBytes: number;

  constructor(store: CacheStore, maxEntryBytes: number) {
    this.store = store;
    this.#maxEntryBytes = maxEntryBytes;
  }

  pending(key: string): Promise<void> | undefined {
    return this.#pending.get(key)?.promise;
  }

  lead(key: string, ttlMs: number, request: CachePolicy.Request): Fill {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    const fill: Fill = { key, ttlMs, request, promise, release };
    this.#pending.set(key, fill);
    return fill;
  }

  /** Ends a fill; only the leader's own token releases (a later leader of the key is left alone). */
  release(fill: Fill): void {
    if (this.#pending.get(fill.key) === fill) this.#pending.delete(fill.key);
    fill.release();
  }

  /** A fresh stored answer for this request, following a Vary marker to its variant. */
  find(key: string, request: CachePolicy.Request): Maybe<CachedResponse | undefined> {
    return then(this.store.get(key), (rec: CacheRecord | undefined) => {
      if (rec?.kind === 'vary') return then(this.store.get(variantKey(key, rec.fields, request)), (v) => usable(v, request));
      return usable(rec, request);
    });
  }

  tap(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): void {
    const fill = ctx.get(FILL);
    if (!fill) return;
    const stored = this.#storable(fill, status, headers);
    if (!stored) return this.release(fill);
    const { policy, cacheControl, ttlMs, fields } = stored;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    body.on('data', (c: Buffer) => {
      if (tooBig) return;
      size += c.length;
      if (size > this.#maxEntryBytes) {
        tooBig = true;
        chunks.length = 0;
      } else chunks.push(c);
    });
    body.once('end', () => {
      if (!tooBig) {
        const entry: CachedResponse = { kind: 'response', status, policy: policy.toObject(), cacheControl, body: Buffer.concat(chunks, size) };
        if (fields.length === 0) this.store.set(fill.key, entry, ttlMs);
        else {
          this.store.set(fill.key, { kind: 'vary', fields }, fill.ttlMs);
          this.store.set(variantKey(fill.key, fields, fill.request), entry, ttlMs);
        }
      }
      this.release(fill);
    });
  }

  #storable(fill: Fill, status: number, headers: OutgoingHttpHeaders) {
    if (status !== 200 || headers['set-cookie'] !== undefined) return undefined;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > this.#maxEntryBytes) return undefined;
    let fields = varyFields(headers.vary);
    if (fields[0] === '*') return undefined;
    // An encoded body that forgot `Vary: Accept-Encoding` must not reach a client that cannot decode it.
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity' && !fields.includes('accept-encoding')) {
      fields = [...fields, 'accept-encoding'].sort();
    }
    const resHeaders = policyResponseHeaders(headers);
    // Directive names are case-insensitive (RFC 9111 §5.2); the library compares them as written.
    const original = resHeaders['cache-control'] as string | undefined;
    const cc = original?.toLowerCase();
    if (cc !== undefined) {
      if (NEEDS_REVALIDATION.test(cc) || repeatsDirective(cc)) return undefined;
      resHeaders['cache-control'] = cc;
    } else if (/no-cache/i.test(String(resHeaders.pragma ?? ''))) return undefined;
    if (!(cc !== undefined && EXPLICIT_FRESHNESS.test(cc)) && resHeaders.expires === undefined) {
      // No freshness from the upstream: the route's ttlSec is it.
      resHeaders['cache-control'] = `${cc ? `${cc}, ` : ''}s-maxage=${Math.ceil(fill.ttlMs / 1000)}`;
    }
    // A hit shows the client the upstream's own header, not the policy's working copy.
    const cacheControl = resHeaders['cache-control'] === original ? undefined : (original ?? null);
    const policy = new CachePolicy(policyRequest(fill.request, fields), { status, headers: resHeaders }, { shared: true });
    if (!policy.storable()) return undefined;
    const ttlMs = Math.min(fill.ttlMs, Math.floor((policy.maxAge() - policy.age()) * 1000));
    if (ttlMs <= 0) return undefined;
    return { policy, cacheControl, ttlMs, fields };
  }
}

/**
 * The library keeps every request header of a response with Vary; it needs only the varied
 * ones (and those it reads itself), so nothing else a client sent is kept in the store.
 */
function policyRequest(request: CachePolicy.Request, fields: readonly string[]): CachePolicy.Request {
  const headers: CachePolicy.Headers = {};
  for (const name of ['host', 'cache-control', 'pragma', ...fields]) {
    if (request.headers[name] !== undefined) headers[name] = request.headers[name];
  }
  return { ...request, headers };
}

/** Two values for one directive (`max-age=60, max-age=0`) have two readings: not stored. */
function repeatsDirective(cc: string): boolean {
  const seen = new Set<string>();
  for (const part of cc.split(',')) {
    const name = part.split('=', 1)[0]!.trim();
    if (!name) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

function usable(rec: CacheRecord | undefined, request: CachePolicy.Request): CachedResponse | undefined {
  if (rec?.kind !== 'response') return undefined;
  return CachePolicy.fromObject(rec.policy).satisfiesWithoutRevalidation(request) ? rec : undefined;
}

function serve(ctx: RequestContext, e: CachedResponse): void {
  const policy = CachePolicy.fromObject(e.policy);
  const headers: OutgoingHttpHeaders = policy.responseHeaders();
  if (e.cacheControl === null) delete headers['cache-control'];
  else if (e.cacheControl !== undefined) headers['cache-control'] = e.cacheControl;
  headers.age = String(Math.floor(policy.age()));
  headers['x-cache'] = 'HIT';
  sendBuffer(ctx, e.status, headers, e.body);
}

export function useResponseCache(opts: ResponseCacheOptions): GatewayPlugin {
  const ttl = new Map(Object.entries(opts.routes).map(([k, v]) => [k, v * 1000]));
  if (ttl.size === 0) return { name: 'response-cache' };
  const maxEntryBytes = opts.maxEntryBytes ?? 1_048_576;
  const store: CacheStore = opts.redis
    ? new RedisCacheStore(opts.redis, { maxEntryBytes, logger: opts.logger })
    : new MemoryCacheStore({ maxBytes: opts.maxBytes, maxEntryBytes });
  const cache = new ResponseCache(store, maxEntryBytes);
  const keyOf = createCacheKeyer({ identityRoutes: new Set(opts.identityRoutes ?? []), apiKeyHeader: opts.apiKeyHeader?.toLowerCase() });
  const coalesceWaitMs = opts.coalesceWaitMs ?? 30_000;

  function miss(ctx: RequestContext, key: string, ttlMs: number, request: CachePolicy.Request): void {
    ctx.res.setHeader('X-Cache', 'MISS');
    if (cache.pending(key)) return;
    ctx.set(FILL, cache.lead(key, ttlMs, request));
    ctx.set(RESPONSE_TAP, cache);
  }

  /** Waits for another request's fill of the key, bounded by time and the request's deadline. */
  async function waitFor(ctx: RequestContext, fill: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = Math.max(0, Math.min(coalesceWaitMs, ctx.remainingMs()));
    try {
      await Promise.race([fill, new Promise<void>((r) => (timer = setTimeout(r, limit)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function afterPending(ctx: RequestContext, key: string, ttlMs: number, request: CachePolicy.Request, wait: Promise<void>): Promise<void> {
    await waitFor(ctx, wait);
    const after = await cache.find(key, request);
    if (after) return serve(ctx, after);
    miss(ctx, key, ttlMs, request);
  }

  return {
    name: 'response-cache',
    onRequest(ctx) {
      const t = ctx.target;
      if (t.kind !== 'route' || ctx.method !== 'GET') return;
      const ttlMs = ttl.get(t.route.name);
      if (ttlMs === undefined) return;
      const d = keyOf(ctx, t.route);
      if (d.bypass) {
        ctx.res.setHeader('X-Cache', 'BYPASS');
        return;
      }
      const { key, request } = d;
      return then(cache.find(key, request), (found) => {
        if (found) return serve(ctx, found);
        const wait = cache.pending(key);
        if (wait) return afterPending(ctx, key, ttlMs, request, wait);
        miss(ctx, key, ttlMs, request);
      });
    },
    onDone(ctx) {
      const fill = ctx.get(FILL);
      if (fill) cache.release(fill);
    },
    close() {
      return store.close();
    },
  };
}
