/**
 * Rate-limit algorithms through a real gateway, counted in memory: the boundary spike a fixed
 * window lets through and a sliding window does not, a token bucket's burst and refill, the
 * warning header of graduated limiting, and the config checks. Only `Date` is faked, where a
 * window must pass; servers and sockets run on real timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { ConfigError, parseConfig, type ConfigProblem } from '../src/config/load.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await gw?.close();
  gw = undefined;
});

const USER = '{ user(id: "1") { name } }';
/** A multiple of 60 s: sliding windows of 60 s start here. */
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);

async function statuses(g: TestGateway, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await g.gql(USER)).status);
  return out;
}
const admitted = (s: number[]) => s.filter((x) => x === 200).length;

describe('boundary spike: fixed window vs sliding window', () => {
  for (const [algorithm, afterBoundary] of [['fixed-window', 10], ['sliding-window', 0]] as const) {
    it(`${algorithm}: a full window just before the boundary, then ${afterBoundary} of 10 admitted just after it`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(T0);
      gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 10, durationSec: 60, algorithm } }) });
      expect(admitted(await statuses(gw, 1))).toBe(1); // opens the fixed window at T0
      vi.setSystemTime(T0 + 59_000);
      expect(admitted(await statuses(gw, 9))).toBe(9);
      vi.setSystemTime(T0 + 61_000);
      const after = await statuses(gw, 10);
      expect(admitted(after)).toBe(afterBoundary);
      expect(after.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
      if (algorithm === 'sliding-window') {
        // The previous window's weight fades: half-way through, half of it is free again.
        vi.setSystemTime(T0 + 90_000);
        expect(admitted(await statuses(gw, 10))).toBe(5);
      }
    });
  }

  it('sliding-window: a refusal says when the same request would pass, and it does', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0 + 30_000);
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 4, durationSec: 60, algorithm: 'sliding-window' } }) });
    expect(await statuses(gw, 4)).toEqual([200, 200, 200, 200]);
    vi.setSystemTime(T0 + 75_000); // 4 × 45/60 = 3 used: one more fits
    expect(await statuses(gw, 2)).toEqual([200, 429]);
    const refused = await gw.gql(USER);
    expect(refused.status).toBe(429);
    // 4 × (1 − f) + 1 + 1 ≤ 4 once f ≥ 1/2: at T0 + 90 s, 15 s from now.
    expect(refused.headers.get('retry-after')).toBe('15');
    expect(refused.headers.get('x-ratelimit-reset')).toBe('15');
    vi.setSystemTime(T0 + 89_000);
    expect((await gw.gql(USER)).status).toBe(429);
    vi.setSystemTime(T0 + 90_000);
    expect((await gw.gql(USER)).status).toBe(200);
  });
});

describe('token bucket', () => {
  it('admits a burst up to its capacity, then refills at points per durationSec, never beyond burst', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    gw = await startTestGateway({
      configure: (c) => (c.rateLimit = { perClient: { points: 1, durationSec: 2, algorithm: 'token-bucket', burst: 5 } }),
    });
    const first = await gw.gql(USER);
    expect(first.headers.get('x-ratelimit-limit')).toBe('5');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(first.headers.get('x-ratelimit-reset')).toBe('2'); // one token back in 2 s
    expect(await statuses(gw, 5)).toEqual([200, 200, 200, 200, 429]);
    const refused = await gw.gql(USER);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(gw.demo.users.recorder.calls).toHaveLength(5);

    vi.setSystemTime(T0 + 4_000); // two tokens
    expect(await statuses(gw, 3)).toEqual([200, 200, 429]);
    vi.setSystemTime(T0 + 1_000_000); // long idle: full, and no fuller
    expect(await statuses(gw, 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('advertises its capacity in RateLimit-Policy', async () => {
    gw = await startTestGateway({
      configure: (c) => (c.rateLimit = { headers: 'ietf', perClient: { points: 10, durationSec: 60, algorithm: 'token-bucket', burst: 20 } }),
    });
    const r = await gw.gql(USER);
    expect(r.headers.get('ratelimit-policy')).toBe('"client";q=10;w=60;burst=20');
    expect(r.headers.get('ratelimit')).toBe('"client";r=19;t=6');
  });
});

describe('graduated limiting: warnAtPercent', () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket'] as const) {
    it(`${algorithm}: X-RateLimit-Warning from the request that uses 80% of the window`, async () => {
      gw = await startTestGateway({
        configure: (c) => (c.rateLimit = { perClient: { points: 10, durationSec: 60, algorithm, warnAtPercent: 80 } }),
      });
      const warnings: Array<string | null> = [];
      for (let i = 0; i < 11; i++) warnings.push((await gw.gql(USER)).headers.get('x-ratelimit-warning'));
      expect(warnings.slice(0, 7)).toEqual(Array(7).fill(null));
      expect(warnings[7]).toMatch(/^"client";used=80;r=2;t=\d+$/);
      expect(warnings[9]).toMatch(/^"client";used=100;r=0;t=\d+$/);
      expect(warnings[10]).toMatch(/^"client";used=100;r=0;t=\d+$/); // the 429 says it too
    });
  }

  it('lists each window past its own threshold: a route warns independently of the client window', async () => {
    gw = await startTestGateway({
      configure: (c) => {
        c.rateLimit = { perClient: { points: 100, durationSec: 60, warnAtPercent: 90 } };
        c.routes = [{ name: 'users-api', match: { pathPrefix: '/users' }, upstream: 'users', rateLimit: { points: 4, durationSec: 60, warnAtPercent: 50 } }];
      },
    });
    const got: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${gw.url}/users/1`);
      await r.arrayBuffer();
      got.push(r.headers.get('x-ratelimit-warning'));
    }
    expect(got[0]).toBeNull();
    expect(got[1]).toMatch(/^"users-api";used=50;r=2;t=\d+$/);
    expect(got[2]).toMatch(/^"users-api";used=75;r=1;t=\d+$/);
  });

  it('no warnAtPercent, no header, even at the limit', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 1, durationSec: 60 } }) });
    const r = [await gw.gql(USER), await gw.gql(USER)];
    expect(r.map((x) => x.status)).toEqual([200, 429]);
    expect(r.map((x) => x.headers.get('x-ratelimit-warning'))).toEqual([null, null]);
  });
});

describe('field and global windows take an algorithm too', () => {
  it('a token-bucket field window refuses that field alone past its burst', async () => {
    gw = await startTestGateway({
      configure: (c) => (c.rateLimit = { fields: { 'Query.product': { points: 1, durationSec: 3600, algorithm: 'token-bucket', burst: 2 } } }),
    });
    const r = await gw.gql('{ a: product(id: "p1") { name } b: product(id: "p1") { name } c: product(id: "p1") { name } user(id: "1") { name } }');
    expect(r.status).toBe(200);
    expect(r.body.data.a).not.toBeNull();
    expect(r.body.data.b).not.toBeNull();
    expect(r.body.data.c).toBeNull();
    expect(r.body.data.user).not.toBeNull();
    expect(r.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['c'], 'RATE_LIMITED']]);
  });

  it('a sliding global window holds for all clients together', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { global: { points: 3, durationSec: 60, algorithm: 'sliding-window' } }) });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await gw.gql(USER, undefined, { 'x-forwarded-for': `10.0.0.${i}` })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });
});

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config check', () => {
  const base = 'upstreams:\n  u: { targets: [ { url: "http://127.0.0.1:1" } ] }\n';
  it('reports each mistake by its key path', () => {
    const p = problemsOf(`${base}rateLimit:
  global: { points: 5, durationSec: 1, algorithm: leaky-bucket }
  perClient: { points: 5, durationSec: 1, algorithm: sliding-window, burst: 10 }
  fields:
    Query.x: { points: 5, durationSec: 1, warnAtPercent: 80 }
routes:
  - { name: r, match: { pathPrefix: /r }, upstream: u, rateLimit: { points: 5, durationSec: 1, warnAtPercent: 100 } }
`);
    const byPath = new Map(p.map((x) => [x.path, x.message]));
    expect(byPath.get('rateLimit.global.algorithm')).toMatch(/fixed-window.*sliding-window.*token-bucket/);
    expect(byPath.get('rateLimit.perClient.burst')).toMatch(/token-bucket only/);
    // Field windows send no header fields, so they cannot warn: the key is unknown there.
    expect(byPath.get('rateLimit.fields.Query.x.warnAtPercent')).toBe('unknown key');
    expect(byPath.get('routes[0].rateLimit.warnAtPercent')).toMatch(/<=99/);
    expect(p).toHaveLength(4);
  });

  it('refuses a sliding window or bucket too large to count exactly, names the key', () => {
    const p = problemsOf(`${base}rateLimit:
  perClient: { points: 1000000, durationSec: 31536000, algorithm: sliding-window }
  global: { points: 1000000, durationSec: 31536000 }
`);
    expect(p.map((x) => x.path)).toEqual(['rateLimit.perClient.durationSec']);
    expect(p[0]!.message).toMatch(/too large to count exactly with sliding-window/);
  });

  it('accepts the three algorithms, burst on a token bucket and warnAtPercent where headers are sent', () => {
    expect(problemsOf(`${base}rateLimit:
  global: { points: 5, durationSec: 1, algorithm: sliding-window }
  perClient: { points: 5, durationSec: 1, algorithm: token-bucket, burst: 10, warnAtPercent: 80 }
  fields:
    Query.x: { points: 5, durationSec: 1, algorithm: fixed-window }
`)).toEqual([]);
  });
});
