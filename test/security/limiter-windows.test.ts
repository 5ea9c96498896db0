/**
 * Windows longer than Node's largest timer (2^31-1 ms, ~24.8 days) must hold like any other.
 * rate-limiter-flexible's memory store drops a key with setTimeout(durationSec * 1000), which
 * past that bound fires after 1 ms: the limit was silently off.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LimiterStore } from '../../src/limits/limiter-store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startMiscGateway, type MiscGateway } from './helpers/misc-gateway.js';

const DAY = 86_400;
const LONG_WINDOWS: Array<[string, number]> = [
  ['one second under the timer bound', 2_147_482],
  ['one second over the timer bound', 2_147_484],
  ['30 days', 30 * DAY],
  ['one year', 365 * DAY],
  ['ten years', 3650 * DAY],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('long windows in the memory limiter', () => {
  let gw: MiscGateway | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await gw?.close();
    gw = undefined;
  });

  it.each(LONG_WINDOWS)('a %s window keeps refusing after its points are spent', async (_name, durationSec) => {
    const store = new LimiterStore({ logger: createLogger({ level: 'silent' }) });
    const w = store.window('perClient', { points: 2, durationSec });
    expect((await w.consume('k')).allowed).toBe(true);
    expect((await w.consume('k')).allowed).toBe(true);
    await sleep(30);
    const refused = await w.consume('k');
    expect(refused.allowed).toBe(false);
    expect(refused.resetMs).toBeGreaterThan((durationSec - 5) * 1000);
    await sleep(30);
    expect((await w.consume('k')).allowed).toBe(false);
    expect((await w.consume('other')).allowed).toBe(true);
    await store.close();
  });

  it('a 30-day window ends after 30 days, not before (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const store = new LimiterStore({ logger: createLogger({ level: 'silent' }) });
    const w = store.window('perClient', { points: 1, durationSec: 30 * DAY });
    expect((await w.consume('k')).allowed).toBe(true);
    // Day 1, 24, 25 (past the timer bound) and 29: still inside the window.
    for (const [day, step] of [[1, 1], [24, 23], [25, 1], [29, 4]] as const) {
      await vi.advanceTimersByTimeAsync(step * DAY * 1000);
      expect((await w.consume('k')).allowed, `day ${day}`).toBe(false);
    }
    await vi.advanceTimersByTimeAsync((1 * DAY + 1) * 1000);
    expect((await w.consume('k')).allowed).toBe(true);
    await store.close();
  });

  it('a 30-day route window holds end to end: the upstream sees only the allowed requests', async () => {
    gw = await startMiscGateway((c) => {
      c.routes[0].rateLimit = { points: 2, durationSec: 30 * DAY };
      c.rateLimit = { perClient: { points: 100, durationSec: 45 * DAY } };
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw.url}/echo/${i}`);
      await res.arrayBuffer();
      statuses.push(res.status);
      await sleep(20);
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    expect(gw.echo.received.map((r) => r.url)).toEqual(['/echo/0', '/echo/1']);
    const last = await fetch(`${gw.url}/echo/again`);
    await last.arrayBuffer();
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(29 * DAY);
  });
});
