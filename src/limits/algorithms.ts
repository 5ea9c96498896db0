/**
 * The two counting algorithms rate-limiter-flexible does not have, as pure steps over a small
 * state, shared by the in-memory counters below and mirrored line for line by the Redis scripts
 * (src/limits/redis-counters.ts), so that both decide alike (a property test holds them to it).
 *
 * - **Sliding window**, the two-window weighted counter: time is cut into windows of
 *   `durationMs` aligned on the epoch; a request at fraction `f` of window k sees
 *   `used = prev × (1 − f) + curr` (prev = points taken in window k−1, curr = in window k) and is
 *   admitted when `used + points ≤ limit`. O(1) state per key. Bound: every aligned window admits
 *   at most `limit`; any span of `x × durationMs` (x ≤ 1) admits at most `limit × (1 + x)` in the
 *   worst case (all of the previous window's points at its very end), so a burst at a boundary
 *   is capped near `limit`, where a fixed window lets `2 × limit` through in an instant.
 * - **Token bucket**: a bucket of `burst` tokens, full at first, refilled continuously at
 *   `refill / durationMs` tokens per millisecond; a request takes `points` tokens or is refused.
 *   Bound: any span of `T` ms admits at most `burst + T × refill / durationMs`.
 *
 * Times are integer milliseconds, and both tests are kept in integers (scaled by the window
 * length), so memory and Redis agree to the last point and a retry after `resetMs` is admitted. A refused request's `resetMs` is how long until the same
 * request would be admitted; an admitted one's is how long until the key is back to its full
 * allowance (both 0-based, for `X-RateLimit-Reset` and `Retry-After`).
 */
import { RateLimiterRes } from 'rate-limiter-flexible';

export interface SlidingState {
  /** `floor(now / durationMs)` of the window `curr` counts. */
  index: number;
  prev: number;
  curr: number;
}

export interface BucketState {
  /** Tokens × durationMs: refilling adds `refill` per millisecond, so all arithmetic stays in integers. */
  level: number;
  /** When `level` was last brought up to date (ms). */
  at: number;
}

export interface Outcome {
  allowed: boolean;
  remaining: number;
  resetMs: number;
}

/**
 * Moves `s` to the window of `now` and takes `points` if they fit. Returns whether they did.
 * The test `prev × (d − elapsed) / d + curr + points ≤ limit` is multiplied through by d: exact.
 */
export function slidingTake(s: SlidingState, now: number, points: number, limit: number, durationMs: number): boolean {
  const index = Math.floor(now / durationMs);
  if (index !== s.index) {
    s.prev = index === s.index + 1 ? s.curr : 0;
    s.curr = 0;
    s.index = index;
  }
  const elapsed = now - index * durationMs;
  if (s.prev * (durationMs - elapsed) + (s.curr + points) * durationMs > limit * durationMs) return false;
  s.curr += points;
  return true;
}

/** Remaining points and reset time after {@link slidingTake} (`elapsed` = ms into the current window). */
export function slidingOutcome(allowed: boolean, prev: number, curr: number, elapsed: number, points: number, limit: number, durationMs: number): Outcome {
  const d = durationMs;
  const remaining = Math.max(0, Math.floor((limit * d - prev * (d - elapsed) - curr * d) / d));
  if (allowed) return { allowed, remaining, resetMs: curr > 0 ? 2 * d - elapsed : prev > 0 ? d - elapsed : 0 };
  if (points > limit) return { allowed, remaining, resetMs: 2 * d - elapsed };
  // Admitted at elapsed e' of this window once prev × (d − e') ≤ room × d; else in the next
  // window, where curr has become prev, once curr × (d − e'') ≤ (limit − points) × d.
  const room = limit - points - curr;
  if (room >= 0 && prev > 0) return { allowed, remaining, resetMs: Math.max(1, d - Math.floor((room * d) / prev) - elapsed) };
  const next = curr > 0 ? Math.max(0, d - Math.floor(((limit - points) * d) / curr)) : 0;
  return { allowed, remaining, resetMs: d - elapsed + next };
}

/** Brings `s` up to `now` and takes `points` tokens if there are enough. Returns whether there were. */
export function bucketTake(s: BucketState, now: number, points: number, burst: number, refill: number, durationMs: number): boolean {
  if (now > s.at) {
    s.level = Math.min(burst * durationMs, s.level + (now - s.at) * refill);
    s.at = now;
  }
  if (s.level < points * durationMs) return false;
  s.level -= points * durationMs;
  return true;
}

export function bucketOutcome(allowed: boolean, level: number, points: number, burst: number, refill: number, durationMs: number): Outcome {
  const remaining = Math.floor(level / durationMs);
  const target = (allowed || points > burst ? burst : points) * durationMs;
  return { allowed, remaining, resetMs: Math.max(allowed ? 0 : 1, Math.ceil((target - level) / refill)) };
}

/** A window's parameters, as the counters need them. */
export interface CounterSpec {
  limit: number;
  durationMs: number;
  /** token-bucket: capacity (`limit` is the refill per `durationMs`). */
  burst: number;
}

/** The one method of rate-limiter-flexible's limiters that a Redis window ({@link RedisWindow}) calls. */
export interface PointConsumer {
  /** Resolves when admitted, rejects with a RateLimiterRes when refused, with an Error when the store failed. */
  consume(key: string, points: number, options?: Record<string, unknown>): Promise<RateLimiterRes>;
}

/** A counter in process memory: decides at once, without a promise. */
export interface SyncPointConsumer extends PointConsumer {
  take(key: string, points: number): Outcome;
}

function answer(o: Outcome): Promise<RateLimiterRes> {
  const res = new RateLimiterRes(o.remaining, o.resetMs);
  return o.allowed ? Promise.resolve(res) : Promise.reject(res);
}

/** Longest pause between two sweeps of forgotten keys. */
const MAX_SWEEP_MS = 60_000;

/**
 * Keys in process memory. A sweep, at most once a window (and at least once a minute), drops
 * keys whose state is back to that of a new key, so memory follows the clients active lately.
 */
abstract class MemoryCounter<S> implements SyncPointConsumer {
  protected readonly keys = new Map<string, S>();
  readonly #timer: NodeJS.Timeout;

  constructor(protected readonly spec: CounterSpec) {
    this.#timer = setInterval(() => this.#sweep(), Math.min(spec.durationMs, MAX_SWEEP_MS));
    this.#timer.unref();
  }

  abstract take(key: string, points: number): Outcome;
  protected abstract idle(state: S, now: number): boolean;

  consume(key: string, points: number): Promise<RateLimiterRes> {
    return answer(this.take(key, points));
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, state] of this.keys) if (this.idle(state, now)) this.keys.delete(key);
  }

  /** Keys held now (for tests of the sweep). */
  get size(): number {
    return this.keys.size;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

export class MemorySlidingWindow extends MemoryCounter<SlidingState> {
  take(key: string, points: number): Outcome {
    const { limit, durationMs } = this.spec;
    const now = Date.now();
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { index: Math.floor(now / durationMs), prev: 0, curr: 0 }));
    const allowed = slidingTake(s, now, points, limit, durationMs);
    return slidingOutcome(allowed, s.prev, s.curr, now - s.index * durationMs, points, limit, durationMs);
  }

  protected idle(s: SlidingState, now: number): boolean {
    return Math.floor(now / this.spec.durationMs) > s.index + 1;
  }
}

export class MemoryTokenBucket extends MemoryCounter<BucketState> {
  take(key: string, points: number): Outcome {
    const { limit, durationMs, burst } = this.spec;
    const now = Date.now();
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { level: burst * durationMs, at: now }));
    const allowed = bucketTake(s, now, points, burst, limit, durationMs);
    return bucketOutcome(allowed, s.level, points, burst, limit, durationMs);
  }

  protected idle(s: BucketState, now: number): boolean {
    return s.level + (now - s.at) * this.spec.limit >= this.spec.burst * this.spec.durationMs;
  }
}

/** A fixed window's count for one key. */
export interface FixedState {
  /** Points taken in the window, refused ones included (as rate-limiter-flexible counts them). */
  value: number;
  /** When the window ends (ms); Infinity for a window without end (durationMs 0). */
  endsAt: number;
}

/**
 * A fixed window in process memory, deciding synchronously, with the semantics of
 * rate-limiter-flexible's `RateLimiterMemory` (no block duration, no even spreading): the first
 * point opens a window of `durationMs`; every consume adds its points, refused ones too; a consume
 * is admitted while the window's total stays within `limit`; `remaining` is `limit − total`
 * (at least 0) and `resetMs` the time left in the window. A property test holds it to the
 * library's answers. Expired keys are dropped by the sweep instead of one timer per key, which
 * also keeps windows longer than Node's longest timer (~24.8 days) correct.
 */
export class MemoryFixedWindow extends MemoryCounter<FixedState> {
  take(key: string, points: number): Outcome {
    const { limit, durationMs } = this.spec;
    const now = Date.now();
    let s = this.keys.get(key);
    let resetMs: number;
    if (s !== undefined && s.endsAt > now) {
      s.value += points;
      resetMs = s.endsAt - now;
    } else {
      const endsAt = durationMs > 0 ? now + durationMs : Infinity;
      if (s === undefined) this.keys.set(key, (s = { value: points, endsAt }));
      else {
        s.value = points;
        s.endsAt = endsAt;
      }
      resetMs = durationMs > 0 ? durationMs : 0;
    }
    return { allowed: s.value <= limit, remaining: Math.max(limit - s.value, 0), resetMs: s.endsAt === Infinity ? 0 : resetMs };
  }

  protected idle(s: FixedState, now: number): boolean {
    return s.endsAt <= now;
  }
}
