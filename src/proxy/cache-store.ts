/**
 * Where the passthrough response cache keeps its entries: process memory (bounded LRU) or,
 * when `redis` is configured, Redis (shared by every instance, expiring by itself). Entries
 * are small complete GET answers; bodies over the per-entry bound are never offered.
 */
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RedisConfig } from '../config/schema.js';
import { createRedis, type RedisClient } from '../redis/client.js';
import type { Logger } from '../telemetry/logger.js';

export interface CachedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** Date.now() when stored (for `Age`). */
  storedAt: number;
}

export interface CacheStore {
  get(key: string): CachedResponse | undefined | Promise<CachedResponse | undefined>;
  set(key: string, entry: CachedResponse, ttlMs: number): void;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** @default 1000 */
  maxEntries?: number;
  /** @default 67108864 */
  maxTotalBytes?: number;
}

/** LRU in process memory: Map order is recency order; bounded by entries and total bytes. */
export class MemoryCacheStore implements CacheStore {
  readonly #entries = new Map<string, CachedResponse & { expiresAt: number }>();
  #bytes = 0;
  readonly #maxEntries: number;
  readonly #maxTotalBytes: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? 1000;
    this.#maxTotalBytes = opts.maxTotalBytes ?? 64 * 1_048_576;
  }

  get(key: string): CachedResponse | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    if (e.expiresAt <= Date.now()) {
      this.#bytes -= e.body.length;
      return undefined;
    }
    this.#entries.set(key, e);
    return e;
  }

  set(key: string, entry: CachedResponse, ttlMs: number): void {
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= old.body.length;
    }
    this.#entries.set(key, { ...entry, expiresAt: Date.now() + ttlMs });
    this.#bytes += entry.body.length;
    for (const [k, v] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxTotalBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.body.length;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

/**
 * Redis: one key per entry (`<prefix>rc:<sha256 of the cache key>`), value = 4-byte length,
 * JSON metadata, body; expiry by `PX`. Redis trouble is a miss, never an error to the client.
 */
export class RedisCacheStore implements CacheStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;

  constructor(config: RedisConfig, logger?: Logger) {
    this.#client = createRedis(config, { failFast: true, commandTimeoutMs: 500 });
    this.#client.on('error', () => {
      // Reconnects by itself; each failed command is already a miss.
    });
    this.#prefix = `${config.keyPrefix}rc:`;
    this.#logger = logger;
  }

  #key(key: string): string {
    return this.#prefix + createHash('sha256').update(key).digest('base64url');
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    let raw: Buffer | null;
    try {
      raw = await this.#client.getBuffer(this.#key(key));
    } catch (err) {
      this.#logger?.warn({ err }, 'response cache: redis get failed');
      return undefined;
    }
    if (!raw || raw.length < 4) return undefined;
    const metaLen = raw.readUInt32BE(0);
    const meta = JSON.parse(raw.toString('utf8', 4, 4 + metaLen)) as Omit<CachedResponse, 'body'>;
    return { ...meta, body: raw.subarray(4 + metaLen) };
  }

  set(key: string, entry: CachedResponse, ttlMs: number): void {
    const meta = Buffer.from(JSON.stringify({ status: entry.status, headers: entry.headers, storedAt: entry.storedAt }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(meta.length);
    this.#client.set(this.#key(key), Buffer.concat([len, meta, entry.body]), 'PX', ttlMs).catch((err: unknown) => {
      this.#logger?.warn({ err }, 'response cache: redis set failed');
    });
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}
