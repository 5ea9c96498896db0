/**
 * Response cache for passthrough routes with `cache.ttlSec`: GET answers (200 only) kept in
 * process memory, keyed by route + path + query, plus the caller's identity where the route
 * needs auth. An upstream `Cache-Control: no-store`, `private` or `no-cache`, or a
 * `Set-Cookie`, keeps an answer out. Hits carry `X-Cache: HIT` and `Age`; misses `X-Cache: MISS`.
 * Concurrent misses for one key make one upstream call: the first goes upstream, the others
 * wait for it and are served from what it stored. Size is bounded (entries, bytes per entry,
 * total bytes; least recently used goes first).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../context.js';
import { RESPONSE_TAP_KEY, sendBuffer, type ResponseTap } from '../proxy/respond.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useResponseCache}. */
export interface ResponseCacheOptions {
  /** Route name → TTL in seconds (`routes[].cache.ttlSec`). */
  routes: Record<string, number>;
  /** Route names whose responses depend on the caller (`auth` other than `none`). @default [] */
  authRoutes?: string[];
  /** Most entries kept. @default 1000 */
  maxEntries?: number;
  /** Largest body stored, in bytes. @default 1048576 */
  maxEntryBytes?: number;
  /** All bodies together, in bytes. @default 67108864 */
  maxTotalBytes?: number;
}

interface Entry {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  storedAt: number;
  expiresAt: number;
}

const NOT_STORED = /(?:^|[\s,])(?:no-store|private|no-cache)\b/i;

/** ctx.state key of the key this request fills (it is the leader of a miss). */
const FILL_KEY = 'cache.fill';

class MemoryCache implements ResponseTap {
  readonly #entries = new Map<string, Entry>();
  /** Keys being fetched → settles when the leader is done (stored or not). */
  readonly #pending = new Map<string, { promise: Promise<void>; release: () => void }>();
  #bytes = 0;
  readonly #maxEntries: number;
  readonly #maxEntryBytes: number;
  readonly #maxTotalBytes: number;
  readonly #ttl: Map<string, number>;

  constructor(opts: ResponseCacheOptions) {
    this.#maxEntries = opts.maxEntries ?? 1000;
    this.#maxEntryBytes = opts.maxEntryBytes ?? 1_048_576;
    this.#maxTotalBytes = opts.maxTotalBytes ?? 64 * 1_048_576;
    this.#ttl = new Map(Object.entries(opts.routes).map(([k, v]) => [k, v * 1000]));
  }

  get(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.#delete(key, e);
      return undefined;
    }
    // Refresh recency: Map order is the LRU order.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  pending(key: string): Promise<void> | undefined {
    return this.#pending.get(key)?.promise;
  }

  lead(key: string): void {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.#pending.set(key, { promise, release });
  }

  release(key: string): void {
    const p = this.#pending.get(key);
    if (!p) return;
    this.#pending.delete(key);
    p.release();
  }

  tap(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): void {
    const key = ctx.state[FILL_KEY] as string | undefined;
    const ttl = ctx.target.kind === 'route' ? this.#ttl.get(ctx.target.route.name) : undefined;
    if (!key || !ttl || status !== 200 || headers['set-cookie'] !== undefined) return;
    const cc = headers['cache-control'];
    if (cc !== undefined && NOT_STORED.test(String(cc))) return;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > this.#maxEntryBytes) return;
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
      if (!tooBig) this.#store(key, { status, headers: { ...headers }, body: Buffer.concat(chunks, size), storedAt: Date.now(), expiresAt: Date.now() + ttl });
      this.release(key);
    });
  }

  #store(key: string, e: Entry): void {
    const old = this.#entries.get(key);
    if (old) this.#delete(key, old);
    this.#entries.set(key, e);
    this.#bytes += e.body.length;
    for (const [k, v] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxTotalBytes) break;
      this.#delete(k, v);
    }
  }

  #delete(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.body.length;
  }

  get size(): number {
    return this.#entries.size;
  }
}

function serve(ctx: RequestContext, e: Entry): Promise<void> {
  const headers: OutgoingHttpHeaders = { ...e.headers, 'x-cache': 'HIT', age: String(Math.floor((Date.now() - e.storedAt) / 1000)) };
  return sendBuffer(ctx, e.status, headers, e.body);
}

export function useResponseCache(opts: ResponseCacheOptions): GatewayPlugin {
  const names = Object.keys(opts.routes);
  if (names.length === 0) return { name: 'response-cache' };
  const cache = new MemoryCache(opts);
  const ttl = new Set(names);
  const byCaller = new Set(opts.authRoutes ?? []);

  function keyOf(ctx: RequestContext, route: string): string {
    const base = `${route}\n${ctx.path}\n${ctx.query}`;
    if (!byCaller.has(route)) return base;
    const id = ctx.identity;
    return `${base}\n${id ? `${id.kind}:${id.subject ?? id.clientId}` : `ip:${ctx.ip}`}`;
  }

  async function afterWait(ctx: RequestContext, key: string, wait: Promise<void>): Promise<void> {
    await wait;
    const e = cache.get(key);
    if (e) return serve(ctx, e);
    ctx.res.setHeader('X-Cache', 'MISS');
    start(ctx, key);
  }

  function start(ctx: RequestContext, key: string): void {
    if (cache.pending(key)) return;
    cache.lead(key);
    ctx.state[FILL_KEY] = key;
    ctx.state[RESPONSE_TAP_KEY] = cache;
  }

  return {
    name: 'response-cache',
    onRequest(ctx) {
      const t = ctx.target;
      if (t.kind !== 'route' || ctx.method !== 'GET' || !ttl.has(t.route.name)) return;
      const key = keyOf(ctx, t.route.name);
      const hit = cache.get(key);
      if (hit) return serve(ctx, hit);
      const wait = cache.pending(key);
      if (wait) return afterWait(ctx, key, wait);
      ctx.res.setHeader('X-Cache', 'MISS');
      start(ctx, key);
    },
    onDone(ctx) {
      const key = ctx.state[FILL_KEY] as string | undefined;
      if (key) cache.release(key);
    },
  };
}
