/**
 * The sliding-window and token-bucket algorithms (src/limits/algorithms.ts) against their
 * documented bounds, for random request schedules; and the Redis scripts
 * (src/limits/redis-counters.ts) deciding exactly as the in-memory steps do, step for step.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  bucketOutcome, bucketTake, slidingOutcome, slidingTake, MemorySlidingWindow,
  type BucketState, type SlidingState,
} from '../../src/limits/algorithms.js';
import { scripted } from '../../src/limits/redis-counters.js';
import { LimiterStore } from '../../src/limits/limiter-store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from '../helpers/redis.js';

/** A schedule: strictly increasing times (ms) with the points each request asks for. */
const schedule = fc
  .array(fc.record({ gap: fc.integer({ min: 0, max: 3000 }), points: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 120 })
  .map((steps) => {
    let t = 1_700_000_000_000 + 777;
    return steps.map((s) => ({ at: (t += s.gap), points: s.points }));
  });

interface Admitted {
  at: number;
  points: number;
}

function runSliding(steps: Array<{ at: number; points: number }>, limit: number, d: number): Admitted[] {
  const s: SlidingState = { index: Math.floor(steps[0]!.at / d), prev: 0, curr: 0 };
  return steps.filter((r) => slidingTake(s, r.at, r.points, limit, d));
}

function runBucket(steps: Array<{ at: number; points: number }>, burst: number, refill: number, d: number): Admitted[] {
  const s: BucketState = { level: burst * d, at: steps[0]!.at };
  return steps.filter((r) => bucketTake(s, r.at, r.points, burst, refill, d));
}

/** Points admitted in [from, to]. */
function within(admitted: Admitted[], from: number, to: number): number {
  let n = 0;
  for (const a of admitted) if (a.at >= from && a.at <= to) n += a.points;
  return n;
}

describe('sliding window (two-window weighted counter)', () => {
  it('admits at most limit per aligned window, and at most limit × (1 + x) in any span of x × duration', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (steps, limit, sec) => {
        const d = sec * 1000;
        const admitted = runSliding(steps, limit, d);
        const perWindow = new Map<number, number>();
        for (const a of admitted) perWindow.set(Math.floor(a.at / d), (perWindow.get(Math.floor(a.at / d)) ?? 0) + a.points);
        for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(limit);
        for (let i = 0; i < admitted.length; i++) {
          for (let j = i; j < admitted.length && admitted[j]!.at - admitted[i]!.at < d; j++) {
            const span = admitted[j]!.at - admitted[i]!.at;
            expect(within(admitted, admitted[i]!.at, admitted[j]!.at)).toBeLessThanOrEqual(limit + (limit * span) / d + 1e-9);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a refused request is admitted when retried after its resetMs', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (steps, limit, sec) => {
        const d = sec * 1000;
        const s: SlidingState = { index: Math.floor(steps[0]!.at / d), prev: 0, curr: 0 };
        for (const r of steps) {
          if (r.points > limit) continue;
          if (slidingTake(s, r.at, r.points, limit, d)) continue;
          const o = slidingOutcome(false, s.prev, s.curr, r.at - s.index * d, r.points, limit, d);
          expect(o.resetMs).toBeGreaterThan(0);
          const copy = { ...s };
          expect(slidingTake(copy, r.at + o.resetMs, r.points, limit, d)).toBe(true);
          // …and not a whole second earlier than it says (the hint is tight, not just safe).
          if (o.resetMs > 1000) expect(slidingTake({ ...s }, r.at + o.resetMs - 1000, r.points, limit, d)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('no boundary spike: a full window just before a boundary leaves almost nothing just after it', () => {
    const d = 60_000;
    const limit = 10;
    const start = 1_700_000_040_000; // a multiple of d
    const steps = [
      ...Array.from({ length: 10 }, () => ({ at: start + 59_000, points: 1 })),
      ...Array.from({ length: 10 }, () => ({ at: start + 61_000, points: 1 })),
    ];
    const admitted = runSliding(steps, limit, d);
    expect(within(admitted, start, start + 59_000)).toBe(10);
    expect(within(admitted, start + 60_000, start + 61_000)).toBe(0);
  });
});

describe('token bucket', () => {
  it('admits at most burst + T × rate in any span of T ms, and refills to burst at most', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (steps, burst, refill, sec) => {
        const d = sec * 1000;
        const admitted = runBucket(steps, burst, refill, d);
        for (let i = 0; i < admitted.length; i++) {
          for (let j = i; j < admitted.length; j++) {
            const span = admitted[j]!.at - admitted[i]!.at;
            expect(within(admitted, admitted[i]!.at, admitted[j]!.at)).toBeLessThanOrEqual(burst + (span * refill) / d + 1e-9);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a refused request is admitted when retried after its resetMs; an admitted one is full again after its resetMs', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (steps, burst, refill, sec) => {
        const d = sec * 1000;
        const s: BucketState = { level: burst * d, at: steps[0]!.at };
        for (const r of steps) {
          if (r.points > burst) continue;
          const allowed = bucketTake(s, r.at, r.points, burst, refill, d);
          const o = bucketOutcome(allowed, s.level, r.points, burst, refill, d);
          const later = { ...s };
          if (!allowed) expect(bucketTake(later, r.at + o.resetMs, r.points, burst, refill, d)).toBe(true);
          else expect(bucketTake(later, r.at + o.resetMs, burst, burst, refill, d)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('through the limiter store (memory), each algorithm holds its bound', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const logger = createLogger({ level: 'silent' });

  async function admittedBy(algorithm: 'fixed-window' | 'sliding-window' | 'token-bucket', steps: Array<{ at: number; points: number }>, points: number, sec: number, burst?: number): Promise<Admitted[]> {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new LimiterStore({ logger });
    const w = store.window('perClient', { points, durationSec: sec, algorithm, burst });
    const out: Admitted[] = [];
    try {
      for (const r of steps) {
        vi.setSystemTime(r.at);
        const d = await w.consume('k', r.points);
        if (d.allowed) out.push(r);
        expect(d.remaining).toBeGreaterThanOrEqual(0);
        expect(d.remaining).toBeLessThanOrEqual(d.limit);
      }
    } finally {
      await store.close();
      vi.useRealTimers();
    }
    return out;
  }

  it('fixed-window: at most points per window, a window opening at the first request after the last one ended', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), async (steps, limit, sec) => {
        const d = sec * 1000;
        const admitted = await admittedBy('fixed-window', steps, limit, sec);
        let end = -Infinity;
        const perWindow: number[] = [];
        for (const r of steps) {
          if (r.at >= end) {
            end = r.at + d;
            perWindow.push(0);
          }
          if (admitted.includes(r)) perWindow[perWindow.length - 1]! += r.points;
        }
        for (const n of perWindow) expect(n).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 60 },
    );
  });

  it('sliding-window and token-bucket: the same bounds as the pure steps', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), async (steps, limit, burst, sec) => {
        const d = sec * 1000;
        const sliding = await admittedBy('sliding-window', steps, limit, sec);
        const bucket = await admittedBy('token-bucket', steps, limit, sec, burst);
        for (let i = 0; i < steps.length; i++) {
          for (let j = i; j < steps.length; j++) {
            const span = steps[j]!.at - steps[i]!.at;
            if (span < d) expect(within(sliding, steps[i]!.at, steps[j]!.at)).toBeLessThanOrEqual(limit + (limit * span) / d);
            expect(within(bucket, steps[i]!.at, steps[j]!.at)).toBeLessThanOrEqual(burst + (span * limit) / d);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('memory counters', () => {
  it('forget keys whose windows have both passed (the sweep), so memory follows recent clients', async () => {
    const counter = new MemorySlidingWindow({ limit: 5, durationMs: 1000, burst: 5 });
    try {
      await counter.consume('a', 1);
      await counter.consume('b', 1);
      expect(counter.size).toBe(2);
      await new Promise((r) => setTimeout(r, 3100));
      expect(counter.size).toBe(0);
    } finally {
      counter.close();
    }
  });
});

describe.skipIf(noRedis)('Redis scripts decide as the in-memory steps do', () => {
  const prefix = testPrefix('rl-algorithms');
  const client = noRedis ? undefined : scripted(new Redis(REDIS_URL));
  afterAll(async () => {
    client?.disconnect();
    if (!noRedis) await dropPrefix(prefix);
  });
  let run = 0;

  it('sliding window: same admissions, same remaining and reset, for random schedules', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), async (steps, limit, sec) => {
        const d = sec * 1000;
        const key = `${prefix}sliding:${run++}`;
        const s: SlidingState = { index: Math.floor(steps[0]!.at / d), prev: 0, curr: 0 };
        for (const r of steps) {
          const allowed = slidingTake(s, r.at, r.points, limit, d);
          const [ra, p, c, elapsed] = await client!.gwSlidingTake(key, limit, d, r.points, r.at);
          expect([ra === 1, p, c, elapsed]).toEqual([allowed, s.prev, s.curr, r.at - s.index * d]);
          expect(slidingOutcome(ra === 1, p, c, elapsed, r.points, limit, d)).toEqual(slidingOutcome(allowed, s.prev, s.curr, r.at - s.index * d, r.points, limit, d));
        }
        const ttl = await client!.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(2 * d);
      }),
      { numRuns: 25 },
    );
  });

  it('token bucket: same admissions and the same token level', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), async (steps, burst, refill, sec) => {
        const d = sec * 1000;
        const key = `${prefix}bucket:${run++}`;
        const s: BucketState = { level: burst * d, at: steps[0]!.at };
        for (const r of steps) {
          const allowed = bucketTake(s, r.at, r.points, burst, refill, d);
          const [ra, level] = await client!.gwBucketTake(key, burst, refill, d, r.points, r.at);
          expect([ra === 1, level]).toEqual([allowed, s.level]);
        }
        // The key lives until the bucket would be full again (a full bucket is the same as none).
        const ttl = await client!.pttl(key);
        const untilFull = Math.ceil((burst * d - s.level) / refill);
        if (untilFull > 1000) expect(ttl).toBeGreaterThan(untilFull - 1000);
        expect(ttl).toBeLessThanOrEqual(Math.max(1, untilFull));
      }),
      { numRuns: 25 },
    );
  });
});
