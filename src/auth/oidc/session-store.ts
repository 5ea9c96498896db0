/**
 * Where session records live: process memory (an LRU bounded by bytes, one instance only) or
 * Redis (shared by every instance). In memory a record is kept as the object itself, keyed by
 * the session id: it never leaves the process, so a lookup is one synchronous LRU read (no
 * digest, no decryption). In Redis a record is sealed (./seal.ts, the session id bound as
 * additional data) and stored under a SHA-256 digest of the id, so a copy of what Redis holds
 * yields neither a usable cookie nor a token. The refresh lock (`SET NX PX`) lets one instance
 * refresh a session's tokens while the others wait for its result.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../../redis/client.js';
import { ServiceUnavailable } from '../../errors.js';
import type { PendingLogin } from './provider.js';
import { Sealer } from './seal.js';

/** Longest wait for the Redis connection before a session lookup fails with 503. */
const READY_WAIT_MS = 2000;

/** What the gateway keeps of one logged-in browser. */
export interface SessionRecord {
  sub: string;
  roles: string[];
  /** The ID token claims the session endpoint may show (`auth.oidc.exposedClaims`). */
  claims: Record<string, unknown>;
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  accessExpiresAt: number;
  createdAt: number;
  lastSeenAt: number;
}

/** Session records and pending logins, by session id and by login state. */
export interface SessionStore {
  /**
   * The record of a session id, or undefined (unknown, expired, or in Redis altered or sealed
   * under another secret). The memory store answers synchronously. A record handed out may be
   * shared with other requests: never change it, save a new one.
   */
  get(id: string): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  set(id: string, record: SessionRecord, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Keeps a pending login (between login and callback) under its state. */
  putPending(pending: PendingLogin, ttlMs: number): Promise<void>;
  /** Takes a pending login: a second take of the same state finds nothing (single use). */
  takePending(state: string): Promise<PendingLogin | undefined>;
  /** Takes the refresh lock of a session for `ttlMs`; resolves to a release function, or undefined when another holder has it. */
  lock(id: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

/** The Redis key part of a session id or login state. */
export function storeKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Per record, besides its JSON size: the key, the object and its strings' headers, the LRU's entry. */
const RECORD_OVERHEAD_BYTES = 200;

/** A deep copy nobody else holds, frozen: the records handed out are shared between requests. */
function frozenCopy<T>(v: T): T {
  return deepFreeze(structuredClone(v));
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

export class MemorySessionStore implements SessionStore {
  readonly #records: LRUCache<string, SessionRecord>;
  /** Apart from the records: a flood of started logins cannot evict live sessions. */
  readonly #pending: LRUCache<string, PendingLogin>;
  constructor(maxBytes: number, maxPending: number) {
    this.#pending = new LRUCache<string, PendingLogin>({ max: maxPending });
    // Each record is charged its JSON size (measured once, when it is set) and the overhead.
    this.#records = new LRUCache<string, SessionRecord>({ maxSize: maxBytes, sizeCalculation: (v, k) => JSON.stringify(v).length + k.length + RECORD_OVERHEAD_BYTES, ttlAutopurge: false });
  }

  get(id: string): SessionRecord | undefined {
    return this.#records.get(id);
  }

  set(id: string, record: SessionRecord, ttlMs: number): Promise<void> {
    this.#records.set(id, frozenCopy(record), { ttl: ttlMs });
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.#records.delete(id);
    return Promise.resolve();
  }

  putPending(pending: PendingLogin, ttlMs: number): Promise<void> {
    this.#pending.set(pending.state, { ...pending }, { ttl: ttlMs });
    return Promise.resolve();
  }

  takePending(state: string): Promise<PendingLogin | undefined> {
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
  readonly #sealer: Sealer;

  /** `sessionSecret`: what the sealing key is derived from (`auth.oidc.sessionSecret`). */
  constructor(redis: RedisClient, keyPrefix: string, sessionSecret: string) {
    this.#redis = redis;
    this.#prefix = `${keyPrefix}sess:`;
    this.#sealer = new Sealer(sessionSecret);
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

  async get(id: string): Promise<SessionRecord | undefined> {
    const sealed = await this.#run((r) => r.get(this.#prefix + storeKey(id)));
    const plain = sealed === null ? undefined : this.#sealer.open(id, sealed);
    return plain === undefined ? undefined : (JSON.parse(plain) as SessionRecord);
  }

  async set(id: string, record: SessionRecord, ttlMs: number): Promise<void> {
    const sealed = this.#sealer.seal(id, JSON.stringify(record));
    await this.#run((r) => r.set(this.#prefix + storeKey(id), sealed, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async delete(id: string): Promise<void> {
    await this.#run((r) => r.del(this.#prefix + storeKey(id)));
  }

  async putPending(pending: PendingLogin, ttlMs: number): Promise<void> {
    const sealed = this.#sealer.seal(`login:${pending.state}`, JSON.stringify(pending));
    await this.#run((r) => r.set(`${this.#prefix}login:${storeKey(pending.state)}`, sealed, 'PX', ttlMs));
  }

  async takePending(state: string): Promise<PendingLogin | undefined> {
    // GETDEL: of two callbacks racing with one state, exactly one gets it.
    const sealed = await this.#run((r) => r.getdel(`${this.#prefix}login:${storeKey(state)}`));
    const plain = sealed === null ? undefined : this.#sealer.open(`login:${state}`, sealed);
    return plain === undefined ? undefined : (JSON.parse(plain) as PendingLogin);
  }

  async lock(id: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `${this.#prefix}lock:${storeKey(id)}`;
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
