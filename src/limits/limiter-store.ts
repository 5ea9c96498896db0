/**
 * Where rate-limit counters live (sliding windows and token buckets are src/limits/algorithms.ts
 * and src/limits/redis-counters.ts, with the same outage handling): in this process (the embedded
 * default; counters of src/limits/algorithms.ts that decide synchronously, the fixed window with
 * rate-limiter-flexible's `RateLimiterMemory` semantics) or in Redis (`RateLimiterRedis` on
 * ioredis for fixed windows), so that every instance sharing that Redis counts against the same windows.
 *
 * Redis outages:
 * - `failOpen: true`: each Redis limiter carries a memory "insurance" limiter with the same
 *   window, which rate-limiter-flexible uses whenever a Redis command fails or the connection
 *   is not ready. Limits keep holding, per instance, and no request fails. When ioredis
 *   reconnects, the Redis limiter is used again by itself (no restart).
 * - `failOpen: false`: the limiter throws SERVICE_UNAVAILABLE (503) and says why.
 * - A Redis that hangs (connection up, no answers) costs one command timeout; after that the
 *   store skips Redis for {@link BYPASS_MS}, then tries it again.
 * Either way the outage is logged once when it starts and once when it ends, not per request.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateWindow, RedisConfig } from '../config/schema.js';
import { MemoryFixedWindow, MemorySlidingWindow, MemoryTokenBucket, type CounterSpec, type PointConsumer, type SyncPointConsumer } from './algorithms.js';
import { RedisSlidingWindow, RedisTokenBucket } from './redis-counters.js';
import { ServiceUnavailable } from '../errors.js';
import { createRedis, type RedisClient } from '../redis/client.js';
import type { Logger } from '../telemetry/logger.js';

/** Node holds a timer for at most 2^31-1 ms (~24.8 days); a longer delay fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The parts of rate-limiter-flexible's MemoryStorage that long windows need (lib/component/MemoryStorage). */
interface MemoryRecord {
  expiresAt: Date | null;
  timeoutId: NodeJS.Timeout | null;
}
interface MemoryStorage {
  _storage: Record<string, MemoryRecord | undefined>;
  set(key: string, value: number, durationSec: number): RateLimiterRes;
}

/**
 * rate-limiter-flexible's memory storage drops a key with `setTimeout(durationSec * 1000)`. Past
 * 2^31-1 ms that timer fires at once, so every window longer than ~24.8 days would be forgotten
 * a millisecond after it opened: the limit silently off. For such windows the key is stored
 * without the library's timer and expires through a chain of timers no longer than Node allows.
 * Windows short enough for one timer keep the library's own code path.
 */
function holdLongWindow<T extends RateLimiterMemory>(limiter: T, durationSec: number): T {
  if (durationSec * 1000 <= MAX_TIMER_MS) return limiter;
  const storage = (limiter as unknown as { _memoryStorage: MemoryStorage })._memoryStorage;
  const librarySet = storage.set.bind(storage);
  const expire = (key: string, record: MemoryRecord, at: number): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      if (storage._storage[key] !== record) return;
      if (Date.now() >= at) delete storage._storage[key];
      else record.timeoutId = expire(key, record, at);
    }, Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS));
    timer.unref();
    return timer;
  };
  storage.set = (key, value, sec) => {
    const ms = sec * 1000;
    if (ms <= MAX_TIMER_MS) return librarySet(key, value, sec);
    // Duration 0: the library stores the record with no expiry and no timer; both are set here.
    const res = librarySet(key, value, 0);
    const record = storage._storage[key]!;
    const at = Date.now() + ms;
    record.expiresAt = new Date(at);
    record.timeoutId = expire(key, record, at);
    // Typed read-only, but RateLimiterRes has a setter: the library sets it the same way.
    (res as { msBeforeNext: number }).msBeforeNext = ms;
    return res;
  };
  return limiter;
}

/** After a failed command on a connected Redis, how long to count in memory before trying Redis again. */
export const BYPASS_MS = 2000;

/** The outcome of taking points from one window for one key. */
export interface Decision {
  allowed: boolean;
  /** Points per window. */
  limit: number;
  /** Points left in the current window (0 when over). */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface LimiterStoreOptions {
  /** Absent: counters are in this process only. */
  redis?: RedisConfig;
  /** Redis unreachable: fall back to per-instance memory windows (true) or answer 503 (false). @default true */
  failOpen?: boolean;
  logger: Logger;
  /** What these windows are, for log lines (each store reports its own outage once). @default 'rate limits' */
  label?: string;
  /** How long the first requests wait for the initial Redis connection before falling back. @default 1000 */
  startupWaitMs?: number;
}

type RedisState = 'starting' | 'up' | 'down' | 'closed';

/** Per-call options handed through rate-limiter-flexible to the insurance limiter, which marks them. */
interface CallMark {
  insured: boolean;
}

/** The insurance limiter: a memory window that notes on the call's options that it was used. */
class InsuranceLimiter extends RateLimiterMemory {
  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    if (options) (options as unknown as CallMark).insured = true;
    return super.consume(key, points, options);
  }
}

/**
 * A named window (`points` per `durationSec`, counted by its algorithm), per key: a
 * {@link MemoryWindow} or a {@link RedisWindow}. `synchronous` tells them apart: where it is true,
 * `take()` returns the decision itself; where false, a promise of it.
 */
export type WindowLimiter = MemoryWindow | RedisWindow;

/** What every window knows of itself. */
abstract class WindowBase {
  readonly name: string;
  readonly points: number;
  readonly durationSec: number;
  /** What `remaining` counts down from: `points`, or a token bucket's `burst`. */
  readonly limit: number;

  constructor(name: string, window: RateWindow) {
    this.name = name;
    this.points = window.points;
    this.durationSec = window.durationSec;
    this.limit = window.algorithm === 'token-bucket' ? (window.burst ?? window.points) : window.points;
  }

  /** Takes `points` from `key`'s window: the decision itself, or a promise of it (see `synchronous`). */
  abstract take(key: string, points?: number): Decision | Promise<Decision>;

  /** {@link take}, always as a promise. Throws SERVICE_UNAVAILABLE only when Redis is down and failOpen is off. */
  abstract consume(key: string, points?: number): Promise<Decision>;
}

/** A window counted in this process: it decides at once, without a promise. */
export class MemoryWindow extends WindowBase {
  readonly synchronous = true;
  readonly #counter: SyncPointConsumer;

  constructor(name: string, window: RateWindow, counter: SyncPointConsumer) {
    super(name, window);
    this.#counter = counter;
  }

  take(key: string, points = 1): Decision {
    const o = this.#counter.take(key, points);
    return { allowed: o.allowed, limit: this.limit, remaining: o.remaining, resetMs: o.resetMs };
  }

  consume(key: string, points = 1): Promise<Decision> {
    return Promise.resolve(this.take(key, points));
  }
}

/** A window counted in Redis, shared by every instance using it, with the outage handling above. */
export class RedisWindow extends WindowBase {
  readonly synchronous = false;
  readonly #store: LimiterStore;
  readonly #limiter: PointConsumer;
  /** The memory window used while Redis is skipped (failOpen); undefined without failOpen. */
  readonly #insurance: PointConsumer | undefined;

  constructor(store: LimiterStore, name: string, window: RateWindow, limiter: PointConsumer, insurance: PointConsumer | undefined) {
    super(name, window);
    this.#store = store;
    this.#limiter = limiter;
    this.#insurance = insurance;
  }

  take(key: string, points = 1): Promise<Decision> {
    return this.consume(key, points);
  }

  async consume(key: string, points = 1): Promise<Decision> {
    // Only the first requests after start-up wait here, for the first Redis connection attempt.
    const starting = this.#store.starting;
    if (starting) await starting;
    if (this.#store.bypassing()) {
      if (!this.#insurance) throw ServiceUnavailable(UNAVAILABLE);
      return this.#decide(this.#insurance, key, points, undefined);
    }
    const mark: CallMark = { insured: false };
    const d = await this.#decide(this.#limiter, key, points, mark);
    this.#store.noteOutcome(mark.insured);
    return d;
  }

  async #decide(limiter: PointConsumer, key: string, points: number, mark: CallMark | undefined): Promise<Decision> {
    let res: RateLimiterRes;
    let allowed = true;
    try {
      res = await limiter.consume(key, points, mark as unknown as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        this.#store.noteOutcome(true, err);
        throw ServiceUnavailable(UNAVAILABLE);
      }
      res = err;
      allowed = false;
    }
    return { allowed, limit: this.limit, remaining: res.remainingPoints, resetMs: Math.max(0, res.msBeforeNext) };
  }
}

const UNAVAILABLE = 'rate limiting is unavailable: Redis is unreachable and rateLimit.failOpen is false';

export class LimiterStore {
  readonly #client: RedisClient | undefined;
  readonly #prefix: string;
  readonly #failOpen: boolean;
  readonly #logger: Logger;
  readonly #label: string;
  #state: RedisState = 'starting';
  #bypassUntil = 0;
  /** Stops the sweep timers of in-memory sliding windows and token buckets. */
  readonly #closers: Array<() => void> = [];
  /** Resolves once the first connection attempt settled; undefined afterwards (and without Redis). */
  starting: Promise<void> | undefined;

  constructor(opts: LimiterStoreOptions) {
    this.#failOpen = opts.failOpen ?? true;
    this.#logger = opts.logger;
    this.#label = opts.label ?? 'rate limits';
    this.#prefix = `${opts.redis?.keyPrefix ?? 'gw:'}rl:`;
    if (!opts.redis) {
      this.#state = 'up';
      return;
    }
    const client = createRedis(opts.redis, { failFast: true });
    this.#client = client;
    let settle!: () => void;
    const started = new Promise<void>((resolve) => (settle = resolve));
    const timer = setTimeout(settle, opts.startupWaitMs ?? 1000);
    timer.unref();
    this.starting = started.then(() => {
      clearTimeout(timer);
      this.starting = undefined;
    });
    client.on('ready', () => {
      this.#markUp();
      settle();
    });
    client.on('error', (err: Error) => this.#markDown(err));
    client.on('close', () => this.#markDown(undefined));
    // The first failed attempt ends the start-up wait: requests then fall back at once.
    client.once('error', () => settle());
  }

  /** True while counters are shared through Redis (false without Redis or during an outage). */
  get shared(): boolean {
    return this.#client ? this.#state === 'up' && !this.bypassing() : false;
  }

  /** True while Redis is skipped after a failed command on a connection that looked healthy. */
  bypassing(): boolean {
    return this.#bypassUntil !== 0 && this.#bypassUntil > Date.now();
  }

  /**
   * Called after each Redis-backed decision. A fallback while the connection is up means the
   * command itself failed (timeout, error reply): skip Redis for a while. A decision Redis made
   * after an outage ends it.
   */
  noteOutcome(fellBack: boolean, err?: unknown): void {
    if (!fellBack) {
      if (this.#state === 'down' && this.#client?.status === 'ready') this.#markUp();
      return;
    }
    if (this.#client?.status !== 'ready') return; // connection events already tell the story
    this.#bypassUntil = Date.now() + BYPASS_MS;
    this.#markDown(err instanceof Error ? err : new Error('a Redis command failed or timed out'));
  }

  #markUp(): void {
    if (this.#state === 'closed') return;
    this.#bypassUntil = 0;
    if (this.#state === 'down') this.#logger.info(`${this.#label}: Redis is reachable again; limits are shared across instances again`);
    this.#state = 'up';
  }

  #markDown(err: Error | undefined): void {
    if (this.#state === 'down' || this.#state === 'closed') return;
    if (this.#state === 'starting' && !err) return;
    this.#state = 'down';
    const consequence = this.#failOpen
      ? 'limits fall back to per-instance memory windows until it is back'
      : 'requests that need a limit are answered 503 until it is back';
    this.#logger.warn({ err: err?.message }, `${this.#label}: Redis is unreachable; ${consequence}`);
  }

  /** Builds a limiter for one named window (`global`, `perClient`, `route:<name>`, `field:<Type.field>`). */
  window(name: string, window: RateWindow): WindowLimiter {
    if (window.algorithm === 'sliding-window' || window.algorithm === 'token-bucket') return this.#algorithmWindow(name, window, window.algorithm);
    const keyPrefix = `${this.#prefix}${name}`;
    const base = { points: window.points, duration: window.durationSec, keyPrefix };
    if (!this.#client) {
      const counter = new MemoryFixedWindow({ limit: window.points, durationMs: window.durationSec * 1000, burst: window.points });
      this.#closers.push(() => counter.close());
      return new MemoryWindow(name, window, counter);
    }
    const insurance = this.#failOpen ? holdLongWindow(new InsuranceLimiter(base), window.durationSec) : undefined;
    const limiter = new RateLimiterRedis({
      ...base,
      storeClient: this.#client,
      // Not-ready connection: go to the insurance limiter (or fail) at once instead of queueing.
      rejectIfRedisNotReady: true,
      // Once a key is over its window, reject it from memory until the window ends: abusers cost no Redis round trip.
      inMemoryBlockOnConsumed: window.points + 1,
      insuranceLimiter: insurance,
    });
    return new RedisWindow(this, name, window, limiter, insurance);
  }

  /**
   * Sliding windows and token buckets. Their Redis keys carry the algorithm
   * (`gw:rl:perClient@sliding:alice`): a window whose algorithm changes on reload starts afresh
   * instead of reading a key of another shape.
   */
  #algorithmWindow(name: string, window: RateWindow, algorithm: 'sliding-window' | 'token-bucket'): WindowLimiter {
    const spec: CounterSpec = { limit: window.points, durationMs: window.durationSec * 1000, burst: window.burst ?? window.points };
    const memory = (): SyncPointConsumer & { close(): void } => {
      const counter = algorithm === 'sliding-window' ? new MemorySlidingWindow(spec) : new MemoryTokenBucket(spec);
      this.#closers.push(() => counter.close());
      return counter;
    };
    if (!this.#client) return new MemoryWindow(name, window, memory());
    const insurance = this.#failOpen ? memory() : undefined;
    const prefix = `${this.#prefix}${name}@${algorithm === 'sliding-window' ? 'sliding' : 'bucket'}:`;
    const Counter = algorithm === 'sliding-window' ? RedisSlidingWindow : RedisTokenBucket;
    return new RedisWindow(this, name, window, new Counter(this.#client, spec, prefix, insurance), insurance);
  }

  async close(): Promise<void> {
    for (const close of this.#closers.splice(0)) close();
    const client = this.#client;
    this.#state = 'closed';
    if (!client) return;
    if (client.status === 'ready') {
      await client.quit().catch(() => client.disconnect());
    } else {
      client.disconnect();
    }
  }
}
