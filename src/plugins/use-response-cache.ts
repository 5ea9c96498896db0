/**
 * Response cache for passthrough routes with `cache.ttlSec`: GET answers (200 only), keyed by
 * route + path + query, plus the caller's identity where the route needs auth. Kept in process
 * memory, or in Redis when `redis` is configured (see src/proxy/cache-store.ts). An upstream
 * `Cache-Control: no-store`, `private` or `no-cache`, or a `Set-Cookie`, keeps an answer out.
 * Hits carry `X-Cache: HIT` and `Age`; misses `X-Cache: MISS`. Concurrent misses for one key
 * (in one instance) make one upstream call: the first goes upstream, the others wait for it
 * and are served from what it stored.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { RedisConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { MemoryCacheStore, RedisCacheStore, type CacheStore, type CachedResponse } from '../proxy/cache-store.js';
import { routedPath } from '../proxy/proxy-handler.js';
import { RESPONSE_TAP_KEY, sendBuffer, type ResponseTap } from '../proxy/respond.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useResponseCache}. */
export interface ResponseCacheOptions {
  /** Route name → TTL in seconds (`routes[].cache.ttlSec`). */
  routes: Record<string, number>;
  /** Route names whose responses depend on the caller (`auth` other than `none`). @default [] */
  authRoutes?: string[];
  /** Keep entries in Redis (shared by instances) instead of process memory. @default undefined */
  redis?: RedisConfig;
  logger?: Logger;
  /** Most entries kept in memory. @default 1000 */
  maxEntries?: number;
  /** Largest body stored, in bytes. @default 1048576 */
  maxEntryBytes?: number;
  /** All bodies together in memory, in bytes. @default 67108864 */
  maxTotalBytes?: number;
}

interface Pending {
  key: string;
  ttlMs: number;
  promise: Promise<void>;
  release: () => void;
}

const NOT_STORED = /(?:^|[\s,])(?:no-store|private|no-cache)\b/i;

/** ctx.state key of the fill this request leads. */
const FILL_KEY = 'cache.fill';

class ResponseCache implements ResponseTap {
  /** Keys being fetched → settles when the leader is done (stored or not). Bounded by requests in flight. */
  readonly #pending = new Map<string, Pending>();
  readonly store: CacheStore;
  readonly #maxEntryBytes: number;

  constructor(store: CacheStore, maxEntryBytes: number) {
    this.store = store;
    this.#maxEntryBytes = maxEntryBytes;
  }

  pending(key: string): Promise<void> | undefined {
    return this.#pending.get(key)?.promise;
  }

  lead(key: string, ttlMs: number): Pending {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    const p: Pending = { key, ttlMs, promise, release };
    this.#pending.set(key, p);
    return p;
  }

  /** Ends a fill; only the leader's own token releases (a later leader of the key is left alone). */
  release(p: Pending): void {
    if (this.#pending.get(p.key) === p) this.#pending.delete(p.key);
    p.release();
  }

  tap(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): void {
    const fill = ctx.state[FILL_KEY] as Pending | undefined;
    if (!fill || status !== 200 || headers['set-cookie'] !== undefined) return;
    const cc = headers['cache-control'];
    if (cc !== undefined && NOT_STORED.test(String(cc))) return;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > this.#maxEntryBytes) return;
    // Copied now: the writer adds Content-Encoding etc. afterwards, and the stored body is the upstream's.
    const stored = { ...headers };
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
      if (!tooBig) this.store.set(fill.key, { status, headers: stored, body: Buffer.concat(chunks, size), storedAt: Date.now() }, fill.ttlMs);
      this.release(fill);
    });
  }
}

function serve(ctx: RequestContext, e: CachedResponse): void {
  const headers: OutgoingHttpHeaders = { ...e.headers, 'x-cache': 'HIT', age: String(Math.max(0, Math.floor((Date.now() - e.storedAt) / 1000))) };
  sendBuffer(ctx, e.status, headers, e.body);
}

export function useResponseCache(opts: ResponseCacheOptions): GatewayPlugin {
  const ttl = new Map(Object.entries(opts.routes).map(([k, v]) => [k, v * 1000]));
  if (ttl.size === 0) return { name: 'response-cache' };
  const store: CacheStore = opts.redis
    ? new RedisCacheStore(opts.redis, opts.logger)
    : new MemoryCacheStore({ maxEntries: opts.maxEntries, maxTotalBytes: opts.maxTotalBytes });
  const cache = new ResponseCache(store, opts.maxEntryBytes ?? 1_048_576);
  const byCaller = new Set(opts.authRoutes ?? []);

  function keyOf(ctx: RequestContext, route: string): string {
    const base = `${route}\n${routedPath(ctx)}\n${ctx.query}`;
    if (!byCaller.has(route)) return base;
    const id = ctx.identity;
    return `${base}\n${id ? `${id.kind}:${id.subject ?? id.clientId}` : `ip:${ctx.ip}`}`;
  }

  function miss(ctx: RequestContext, key: string, ttlMs: number): void {
    ctx.res.setHeader('X-Cache', 'MISS');
    if (cache.pending(key)) return;
    ctx.state[FILL_KEY] = cache.lead(key, ttlMs);
    ctx.state[RESPONSE_TAP_KEY] = cache;
  }

  async function lookup(ctx: RequestContext, key: string, ttlMs: number, hit: CachedResponse | undefined | Promise<CachedResponse | undefined>): Promise<void> {
    const found = await hit;
    if (found) return serve(ctx, found);
    const wait = cache.pending(key);
    if (wait) {
      await wait;
      const after = await cache.store.get(key);
      if (after) return serve(ctx, after);
    }
    miss(ctx, key, ttlMs);
  }

  return {
    name: 'response-cache',
    onRequest(ctx) {
      const t = ctx.target;
      if (t.kind !== 'route' || ctx.method !== 'GET') return;
      const ttlMs = ttl.get(t.route.name);
      if (ttlMs === undefined) return;
      const key = keyOf(ctx, t.route.name);
      const hit = cache.store.get(key);
      if (hit === undefined && !cache.pending(key)) return miss(ctx, key, ttlMs);
      return lookup(ctx, key, ttlMs, hit);
    },
    onDone(ctx) {
      const fill = ctx.state[FILL_KEY] as Pending | undefined;
      if (fill) cache.release(fill);
    },
    close() {
      return store.close();
    },
  };
}
