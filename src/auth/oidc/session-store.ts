/**
 * Where sealed session records live: process memory (an LRU bounded by bytes, one instance
 * only) or Redis (shared by every instance). Records are stored under a SHA-256 digest of the
 * session id, so a copy of the store holds no usable cookie; the record itself is sealed
 * (./seal.ts). The refresh lock (`SET NX PX`) lets one instance refresh a session's tokens
 * while the others wait for its result.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../../redis/client.js';
import { ServiceUnavailable } from '../../errors.js';

/** Longest wait for the Redis connection before a session lookup fails with 503. */
const READY_WAIT_MS = 2000;

export interface SessionStore {
  /** The sealed record, or undefined. */
  get(key: string): Promise<string | undefined>;
  set(key: string, sealed: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keeps a pending login (between login and callback) under its state. */
  putPending(state: string, value: string, ttlMs: number): Promise<void>;
  /** Takes a pending login: a second take of the same state finds nothing (single use). */
  takePending(state: string): Promise<string | undefined>;
  /** Takes the refresh lock of a session for `ttlMs`; resolves to a release function, or undefined when another holder has it. */
  lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

/** The store key of a session id. */
export function storeKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export class MemorySessionStore implements SessionStore {
  readonly #records: LRUCache<string, string>;
  /** Apart from the records: a flood of started logins cannot evict live sessions. */
  readonly #pending: LRUCache<string, string>;

  constructor(maxBytes: number, maxPending: number) {
    this.#pending = new LRUCache<string, string>({ max: maxPending });
    // Keys are 43 characters; each entry is charged its key, value and ~100 bytes of bookkeeping.
    this.#records = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: (v, k) => v.length + k.length + 100, ttlAutopurge: false });
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#records.get(key));
  }

  set(key: string, sealed: string, ttlMs: number): Promise<void> {
    this.#records.set(key, sealed, { ttl: ttlMs });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#records.delete(key);
    return Promise.resolve();
  }

  putPending(state: string, value: string, ttlMs: number): Promise<void> {
    this.#pending.set(state, value, { ttl: ttlMs });
    return Promise.resolve();
  }

  takePending(state: string): Promise<string | undefined> {
    const v = this.#pending.get(state);
    if (v !== undefined) this.#pending.delete(state);
    return Promise.resolve(v);
  }

  /** One process: the in-process coalescing (./sessions.ts) is the whole lock. */
  lock(): Promise<() => Promise<void>> {
    return Promise.resolve(() => Promise.resolve());
  }

  async close(): Promise<void> {
    this.#records.clear();
    this.#pending.clear();
  }
}

/** Deletes the lock only while it still holds our token (it may have expired and been taken since). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export class RedisSessionStore implements SessionStore {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = `${keyPrefix}sess:`;
    // Errors are reported per command (503); the connection's own events would otherwise be unhandled.
    redis.on('error', () => undefined);
  }

  /** One wait for the first connection, shared by every command that arrives before it. */
  #firstReady: Promise<void> | undefined;
  #wasReady = false;

  /**
   * Runs a command on the connection. Before the first connection, commands wait for it (bounded,
   * one shared wait); once the connection has been up, a lost one fails at once, so a request never
   * queues behind a dead Redis. A failure is a 503 naming the session store.
   */
  async #run<T>(cmd: (r: RedisClient) => Promise<T>): Promise<T> {
    const r = this.#redis;
    try {
      if (r.status === 'ready') this.#wasReady = true;
      else if (this.#wasReady) throw new Error(`not connected (${r.status})`);
      else await (this.#firstReady ??= this.#waitForFirstConnection(r));
      return await cmd(r);
    } catch (err) {
      throw ServiceUnavailable(`session store (Redis) unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #waitForFirstConnection(r: RedisClient): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ok = () => {
        clearTimeout(t);
        this.#wasReady = true;
        resolve();
      };
      const t = setTimeout(() => {
        r.off('ready', ok);
        this.#firstReady = undefined; // the next command waits afresh
        reject(new Error(`not connected (${r.status})`));
      }, READY_WAIT_MS);
      r.once('ready', ok);
    });
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#run((r) => r.get(this.#prefix + key))) ?? undefined;
  }

  async set(key: string, sealed: string, ttlMs: number): Promise<void> {
    await this.#run((r) => r.set(this.#prefix + key, sealed, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async delete(key: string): Promise<void> {
    await this.#run((r) => r.del(this.#prefix + key));
  }

  async putPending(state: string, value: string, ttlMs: number): Promise<void> {
    await this.#run((r) => r.set(`${this.#prefix}login:${storeKey(state)}`, value, 'PX', ttlMs));
  }

  async takePending(state: string): Promise<string | undefined> {
    // GETDEL: of two callbacks racing with one state, exactly one gets it.
    return (await this.#run((r) => r.getdel(`${this.#prefix}login:${storeKey(state)}`))) ?? undefined;
  }

  async lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `${this.#prefix}lock:${key}`;
    const token = randomBytes(12).toString('base64url');
    const ok = await this.#run((r) => r.set(lockKey, token, 'PX', ttlMs, 'NX'));
    if (ok !== 'OK') return undefined;
    return async () => {
      await this.#run((r) => r.eval(RELEASE, 1, lockKey, token));
    };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
