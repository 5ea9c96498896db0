/**
 * The logger's `time` field (src/telemetry/logger.ts, `isoTimeAt`) caches the text up to the
 * second; whatever order instants come in, each line's time is exactly `Date#toISOString`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimeAt } from '../../src/telemetry/logger.js';

const expected = (ms: number) => `,"time":"${new Date(ms).toISOString()}"`;
const MAX = 8_640_000_000_000_000; // the largest Date

describe('isoTimeAt', () => {
  it('writes what toISOString writes, for any sequence of instants (cache hits, misses and returns)', () => {
    const near = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 1) + 5000 });
    const anyDate = fc.integer({ min: -MAX, max: MAX });
    fc.assert(
      fc.property(fc.array(fc.oneof(near, near, anyDate), { minLength: 1, maxLength: 40 }), (instants) => {
        for (const ms of instants) expect(isoTimeAt(ms)).toBe(expected(ms));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['the epoch', 0],
    ['the last millisecond of a second', Date.UTC(2026, 11, 3, 11, 24, 25, 999)],
    ['the first millisecond of the next', Date.UTC(2026, 11, 3, 11, 24, 26, 0)],
    ['milliseconds under 10 and under 100', Date.UTC(2026, 11, 3, 11, 24, 26, 7)],
    ['a leap day', Date.UTC(2028, 1, 29, 23, 59, 59, 50)],
    ['the last four-digit year', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
    ['a six-digit year', Date.UTC(10000, 0, 1)],
    ['before the epoch', -1],
  ])('%s', (_name, ms) => {
    expect(isoTimeAt(ms)).toBe(expected(ms));
    expect(isoTimeAt(ms)).toBe(expected(ms));
  });
});
