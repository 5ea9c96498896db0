/**
 * The shared deadline wheel (src/upstream/deadline-wheel.ts): every deadline fires no earlier
 * than its time and at most two ticks (20 ms) after it, a cancelled one never fires, and the
 * wheel's timer stops when nothing is pending. Fake time, since laps of the wheel take seconds.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { scheduleDeadline, type CallDeadline } from '../../src/upstream/deadline-wheel.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const owner = { timeoutError: (d: CallDeadline) => new Error(`timeout ${d.budgetMs}`) };

it('fires each deadline within two ticks after it, never before, and never a cancelled one', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ delay: fc.integer({ min: 0, max: 12_000 }), cancelAfter: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined }) }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 37 }),
      (specs, step) => {
        const start = Date.now();
        const fired: Array<number | undefined> = specs.map(() => undefined);
        const entries = specs.map((s, i) => {
          const d = scheduleDeadline(start + s.delay, s.delay, owner);
          d.signal.addEventListener('abort', () => (fired[i] = Date.now()));
          return d;
        });
        for (let t = 0; t <= 13_000; t += step) {
          specs.forEach((s, i) => {
            if (s.cancelAfter !== undefined && s.cancelAfter <= t && fired[i] === undefined) entries[i]!.cancel();
          });
          vi.advanceTimersByTime(step);
        }
        specs.forEach((s, i) => {
          const at = start + s.delay;
          const cancelledBefore = s.cancelAfter !== undefined && s.cancelAfter < s.delay;
          if (cancelledBefore) {
            // Cancelled in the loop before its time came round (the loop cancels on step boundaries).
            if (fired[i] !== undefined) expect(fired[i]! - start).toBeLessThanOrEqual(Math.ceil((s.cancelAfter! + 1) / step) * step + step);
            return;
          }
          if (fired[i] === undefined) {
            // Cancelled on the step that reached its time, before the tick visited it: no later.
            expect(s.cancelAfter).toBeDefined();
            expect(s.cancelAfter!).toBeLessThanOrEqual(s.delay + 20 + step);
            return;
          }
          expect(fired[i]!).toBeGreaterThanOrEqual(at);
          // Its slot's boundary, and the interval's phase against it: two ticks at most, plus the
          // granularity of the fake clock's steps.
          expect(fired[i]! - at).toBeLessThanOrEqual(20 + step);
          expect((entries[i]!.signal.reason as Error).message).toBe(`timeout ${s.delay}`);
        });
      },
    ),
    { numRuns: 60 },
  );
});

it('a deadline already past fires on the next tick, not a lap later', () => {
  const fired: number[] = [];
  const start = Date.now();
  const d = scheduleDeadline(start - 5, 0, owner);
  d.signal.addEventListener('abort', () => fired.push(Date.now() - start));
  vi.advanceTimersByTime(30);
  expect(fired).toHaveLength(1);
  expect(fired[0]!).toBeLessThanOrEqual(20);
});

it('its timer runs only while deadlines are pending', () => {
  const d = scheduleDeadline(Date.now() + 50, 50, owner);
  expect(vi.getTimerCount()).toBe(1);
  d.cancel();
  // The entry is dropped when its slot comes round; then the interval stops.
  vi.advanceTimersByTime(6_000);
  expect(vi.getTimerCount()).toBe(0);
});

it('an owner may schedule again while its entry comes due: the later entry fires on time and one interval runs', () => {
  const start = Date.now();
  const fired: number[] = [];
  let again: CallDeadline | undefined;
  const rescheduling = {
    timeoutError: (d: CallDeadline) => {
      if (!again) {
        again = scheduleDeadline(start + 300, 300, rescheduling);
        again.signal.addEventListener('abort', () => fired.push(Date.now() - start));
      }
      return new Error(`timeout ${d.budgetMs}`);
    },
  };
  scheduleDeadline(start + 100, 100, rescheduling);
  vi.advanceTimersByTime(150);
  expect(again).toBeDefined();
  // Rescheduled from inside the wheel's visit: still exactly one interval, not a second one.
  expect(vi.getTimerCount()).toBe(1);
  vi.advanceTimersByTime(200);
  expect(fired).toHaveLength(1);
  expect(fired[0]!).toBeGreaterThanOrEqual(300);
  expect(fired[0]!).toBeLessThanOrEqual(320);
  vi.advanceTimersByTime(100);
  expect(vi.getTimerCount()).toBe(0);
});

it('keeps time on the monotonic clock: a wall-clock step neither fires nor stalls a deadline', () => {
  const fired: number[] = [];
  const t0 = performance.now();
  const d = scheduleDeadline(Date.now() + 200, 200, owner);
  d.signal.addEventListener('abort', () => fired.push(performance.now() - t0));
  vi.setSystemTime(Date.now() + 60_000); // the wall clock jumps a minute ahead
  vi.advanceTimersByTime(100);
  expect(fired).toEqual([]);
  vi.setSystemTime(Date.now() - 120_000); // and two minutes back
  vi.advanceTimersByTime(130);
  expect(fired).toHaveLength(1);
  expect(fired[0]!).toBeGreaterThanOrEqual(200);
  expect(fired[0]!).toBeLessThanOrEqual(230);
});

