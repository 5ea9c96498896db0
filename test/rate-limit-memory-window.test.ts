/**
 * Windows tell whether they decide at once (counted here) or answer a promise (Redis), and a field
 * limit counted in memory keeps its field synchronous.
 *
 * The in-memory fixed window (src/limits/algorithms.ts, MemoryFixedWindow) decides synchronously
 * and must decide exactly as rate-limiter-flexible's RateLimiterMemory, which it replaced for
 * windows without Redis: for any sequence of consumes and clock moves, the same admit/refuse, the
 * same remaining points and the same time to reset. Only time is faked (Date and timers, so the
 * library's per-key expiry timers run as they would).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { buildSchema, execute, parse } from 'graphql';
import { MemoryFixedWindow, type Outcome } from '../src/limits/algorithms.js';
import { applyFieldLimits, createFieldLimiters } from '../src/limits/field-limits.js';
import { LimiterStore } from '../src/limits/limiter-store.js';
import type { RequestContext } from '../src/context.js';
import { createLogger } from '../src/telemetry/logger.js';
import { REDIS_URL, noRedis, testPrefix } from './helpers/redis.js';

afterEach(() => {
  vi.useRealTimers();
});

async function library(limiter: RateLimiterMemory, key: string, points: number): Promise<Outcome> {
  try {
    const r = await limiter.consume(key, points);
    return { allowed: true, remaining: r.remainingPoints, resetMs: r.msBeforeNext };
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    return { allowed: false, remaining: err.remainingPoints, resetMs: err.msBeforeNext };
  }
}

type Step = { kind: 'consume'; key: string; points: number } | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('consume' as const), key: fc.constantFrom('a', 'b', 'c'), points: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 }), fc.constantFrom(1, 999, 1000, 2000, 3000)) }) },
);

describe('MemoryFixedWindow against RateLimiterMemory', () => {
  it('same admit/refuse sequence, remaining and reset for any consumes and clock moves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 60 }), async (limit, durationSec, steps) => {
        vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
        vi.setSystemTime(1_800_000_000_123);
        const theirs = new RateLimiterMemory({ points: limit, duration: durationSec });
        const ours = new MemoryFixedWindow({ limit, durationMs: durationSec * 1000, burst: limit });
        try {
          for (const s of steps) {
            if (s.kind === 'wait') {
              vi.advanceTimersByTime(s.ms);
              continue;
            }
            const expected = await library(theirs, s.key, s.points);
            expect(ours.take(s.key, s.points)).toEqual(expected);
          }
        } finally {
          ours.close();
          vi.useRealTimers();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a window longer than the longest Node timer (~24.8 days) still holds after a day', () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(1_800_000_000_000);
    const days30 = 30 * 86_400_000;
    const w = new MemoryFixedWindow({ limit: 2, durationMs: days30, burst: 2 });
    try {
      expect(w.take('k', 2)).toEqual({ allowed: true, remaining: 0, resetMs: days30 });
      vi.advanceTimersByTime(86_400_000);
      expect(w.take('k', 1)).toEqual({ allowed: false, remaining: 0, resetMs: days30 - 86_400_000 });
    } finally {
      w.close();
    }
  });

  it('forgets keys whose window ended (the sweep), so memory follows the active clients', () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(1_800_000_000_000);
    const w = new MemoryFixedWindow({ limit: 5, durationMs: 1000, burst: 5 });
    try {
      for (let i = 0; i < 100; i++) w.take(`client${i}`, 1);
      expect(w.size).toBe(100);
      vi.advanceTimersByTime(2001);
      expect(w.size).toBe(0);
    } finally {
      w.close();
    }
  });
});

describe('windows say whether they decide at once', () => {
  const logger = createLogger({ level: 'silent' });
  const algorithms = ['fixed-window', 'sliding-window', 'token-bucket'] as const;

  it('without Redis the window of every algorithm is synchronous: take() answers the decision itself', async () => {
    const store = new LimiterStore({ logger });
    try {
      for (const algorithm of algorithms) {
        const w = store.window(`perClient-${algorithm}`, { points: 1, durationSec: 60, algorithm });
        expect(w.synchronous, algorithm).toBe(true);
        const first = w.take('k');
        expect(first, algorithm).not.toBeInstanceOf(Promise);
        expect(first, algorithm).toMatchObject({ allowed: true, limit: 1, remaining: 0 });
        expect(w.take('k'), algorithm).toMatchObject({ allowed: false, remaining: 0 });
        expect((await w.consume('k')).allowed, algorithm).toBe(false);
      }
    } finally {
      await store.close();
    }
  });

  it.skipIf(noRedis)('with Redis every window answers a promise', async () => {
    const store = new LimiterStore({ logger, redis: { url: REDIS_URL, keyPrefix: testPrefix('rl-sync') } });
    try {
      for (const algorithm of algorithms) {
        const w = store.window(`perClient-${algorithm}`, { points: 5, durationSec: 60, algorithm });
        expect(w.synchronous, algorithm).toBe(false);
        const d = w.take('k');
        expect(d, algorithm).toBeInstanceOf(Promise);
        expect((await d).allowed, algorithm).toBe(true);
      }
    } finally {
      await store.close();
    }
  });

  it('a field limited in memory resolves without a promise, and its window still refuses', async () => {
    const schema = buildSchema('type Query { items: [Item!]! } type Item { name: String }');
    schema.getQueryType()!.getFields().items!.resolve = () => [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
    const store = new LimiterStore({ logger });
    try {
      const limited = applyFieldLimits(schema, createFieldLimiters(store, new Map([['Item.name', { points: 2, durationSec: 60 }]])));
      const gw = { ip: '127.0.0.1' } as unknown as RequestContext;
      const result = execute({ schema: limited, document: parse('{ items { name } }'), contextValue: { gw } });
      // graphql-js answers synchronously only when no resolver returned a promise.
      expect(result).not.toBeInstanceOf(Promise);
      const { data, errors } = await result;
      expect(data).toEqual({ items: [{ name: 'a' }, { name: 'b' }, { name: null }] });
      expect(errors?.map((e) => (e.originalError as { code?: string } | undefined)?.code)).toEqual(['RATE_LIMITED']);
      expect(gw.rateLimited).toMatchObject({ clientId: '127.0.0.1', limit: 'field:Item.name' });
    } finally {
      await store.close();
    }
  });
});
