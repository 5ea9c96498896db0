/**
 * Where the passthrough response cache keeps its entries: process memory (an LRU bounded by
 * bytes, lru-cache `maxSize`) or, when `redis` is configured, Redis (shared by every instance,
 * expiring by itself). Both refuse an entry whose body is over the per-entry bound, and both
 * address entries by a SHA-256 of the key, so a client-chosen key costs a fixed 64 bytes.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type CachePolicy from 'http-cache-semantics';
import { LRUCache } from 'lru-cache';
import type { RedisConfig } from '../config/schema.js';
import { sha256Hex } from '../hash.js';
import { createRedis, type RedisClient } from '../redis/client.js';
import type { Logger } from '../telemetry/logger.js';

/** A stored answer: its RFC 9111 policy (headers included) and body. */
export interface CachedResponse {
  kind: 'response';
  status: number;
  /** http-cache-semantics state: the response headers, the request's Vary'd headers, times. */
  policy: CachePolicy.CachePolicyObject;
  /** The upstream's own Cache-Control (null: none), when the policy was given the route's default freshness. */
  cacheControl?: string | null;
  body: Buffer;
}

/** Stored under the primary key of a response that had `Vary`: which request headers pick the variant. */
export interface VaryMarker {
  kind: 'vary';
  fields: string[];
}

export type CacheRecord = CachedResponse | VaryMarker;

export interface CacheStore {
  get(key: string): CacheRecord | undefined | Promise<CacheRecord | undefined>;
  set(key: string, record: CacheRecord, ttlMs: number): void;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** All entries together (bodies, headers, keys), in bytes. @default 67108864 */
  maxBytes?: number;
  /** Largest body stored, in bytes. @default 1048576 */
  maxEntryBytes?: number;
}

/** Bookkeeping bytes per entry besides its body (key digest, object shells). */
const ENTRY_OVERHEAD = 256;

function recordBytes(r: CacheRecord): number {
  if (r.kind === 'vary') return ENTRY_OVERHEAD + r.fields.join(',').length;
  return ENTRY_OVERHEAD + r.body.length + JSON.stringify(r.policy).length + (r.cacheControl?.length ?? 0);
}

export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, CacheRecord>;
  readonly #maxEntryBytes: number;

  constructor(opts: MemoryStoreOptions = {}) {
    const maxBytes = opts.maxBytes ?? 64 * 1_048_576;
    this.#maxEntryBytes = opts.maxEntryBytes ?? 1_048_576;
    this.#lru = new LRUCache<string, CacheRecord>({ maxSize: maxBytes, maxEntrySize: maxBytes, sizeCalculation: recordBytes });
  }

  get(key: string): CacheRecord | undefined {
    return this.#lru.get(sha256Hex(key));
  }

  set(key: string, record: CacheRecord, ttlMs: number): void {
    if (ttlMs <= 0 || (record.kind === 'response' && record.body.length > this.#maxEntryBytes)) return;
    this.#lru.set(sha256Hex(key), record, { ttl: ttlMs });
  }

  /** Bytes held, as counted against `maxBytes`. */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}

export interface RedisStoreOptions {
  /** Largest body stored, in bytes. @default 1048576 */
  maxEntryBytes?: number;
  logger?: Logger;
}

/** Bumped when the stored layout changes, so an older instance's entries are never misread. */
const LAYOUT = 'v2';

/**
 * Redis: one key per entry (`<prefix>rc:<sha256 of the cache key>`), value = 4-byte length,
 * JSON metadata, body; expiry by `PX`. Redis trouble or an unreadable value is a miss, never
 * an error to the client.
 */
export class RedisCacheStore implements CacheStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  readonly #maxEntryBytes: number;

  constructor(config: RedisConfig, opts: RedisStoreOptions = {}) {
    this.#client = createRedis(config, { failFast: true, commandTimeoutMs: 500 });
    this.#client.on('error', () => {
      // Reconnects by itself; each failed command is already a miss.
    });
    this.#prefix = `${config.keyPrefix}rc:`;
    this.#logger = opts.logger;
    this.#maxEntryBytes = opts.maxEntryBytes ?? 1_048_576;
  }

  #key(key: string): string {
    return this.#prefix + sha256Hex(`${LAYOUT}\n${key}`);
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    let raw: Buffer | null;
    try {
      raw = await this.#client.getBuffer(this.#key(key));
    } catch (err) {
      this.#logger?.warn({ err }, 'response cache: redis get failed');
      return undefined;
    }
    if (!raw || raw.length < 4) return undefined;
    const metaLen = raw.readUInt32BE(0);
    if (4 + metaLen > raw.length) return undefined;
    try {
      const meta = JSON.parse(raw.toString('utf8', 4, 4 + metaLen)) as CacheRecord;
      if (meta.kind === 'vary') return Array.isArray(meta.fields) ? meta : undefined;
      if (meta.kind !== 'response') return undefined;
      return { ...meta, body: raw.subarray(4 + metaLen) };
    } catch (err) {
      // A value another writer left in our prefix: treated as absent.
      this.#logger?.warn({ err }, 'response cache: unreadable redis entry');
      return undefined;
    }
  }

  set(key: string, record: CacheRecord, ttlMs: number): void {
    if (ttlMs <= 0) return;
    let body: Buffer = Buffer.alloc(0);
    let meta: Omit<CachedResponse, 'body'> | VaryMarker = record;
    if (record.kind === 'response') {
      if (record.body.length > this.#maxEntryBytes) return;
      const { body: b, ...rest } = record;
      body = b;
      meta = rest;
    }
    const json = Buffer.from(JSON.stringify(meta));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    this.#client.set(this.#key(key), Buffer.concat([len, json, body]), 'PX', Math.ceil(ttlMs)).catch((err: unknown) => {
      this.#logger?.warn({ err }, 'response cache: redis set failed');
    });
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}

/** Response headers as http-cache-semantics reads them: lower-case names, string values. */
export function policyResponseHeaders(headers: OutgoingHttpHeaders): CachePolicy.Headers {
  const out: CachePolicy.Headers = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}
