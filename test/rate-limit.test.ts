/**
 * Rate limits counted in memory: per client, per route, global and per field, with their
 * response headers, counted at the demo upstreams (a refused request reaches none).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildSchema } from 'graphql';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { collectFieldWindows } from '../src/limits/field-limits.js';
import { ConfigError } from '../src/config/load.js';
import { createServer } from 'node:http';
import { RequestContext, type Identity } from '../src/context.js';
import { useRateLimit } from '../src/plugins/use-rate-limit.js';
import { isGatewayError } from '../src/errors.js';
import { createLogger } from '../src/telemetry/logger.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const USER = '{ user(id: "1") { name } }';

function upstreamCalls(g: TestGateway): number {
  return g.demo.users.recorder.calls.length + g.demo.orders.recorder.calls.length + g.demo.catalog.recorder.calls.length;
}

function get(g: TestGateway, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${g.url}${path}`, { headers });
}

describe('per-client limit', () => {
  it('counts down in X-RateLimit-* and answers 429 with Retry-After over the window on /graphql', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 3, durationSec: 60 } }) });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await gw.gql(USER);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('3');
      const reset = Number(r.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(59);
      expect(reset).toBeLessThanOrEqual(60);
      remaining.push(r.headers.get('x-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const callsBefore = upstreamCalls(gw);
    const over = await gw.gql(USER);
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(over.body.data).toBeUndefined();
    const retry = over.headers.get('retry-after')!;
    expect(retry).toMatch(/^\d+$/);
    expect(Number(retry)).toBeGreaterThanOrEqual(59);
    expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(over.headers.get('x-ratelimit-limit')).toBe('3');
    expect(upstreamCalls(gw)).toBe(callsBefore);
  });

  it('keys clients by IP when there is no identity (X-Forwarded-For believed with trustProxy)', async () => {
    gw = await startTestGateway({
      configure: (c) => {
        c.server.trustProxy = true;
        c.rateLimit = { perClient: { points: 1, durationSec: 60 } };
      },
    });
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(429);
    const other = await gw.gql(USER, undefined, { 'x-forwarded-for': '203.0.113.2' });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('ignores X-Forwarded-For without trustProxy: a client cannot pick a fresh bucket', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 1, durationSec: 60 } }) });
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(429);
  });

  it('keys by ctx.identity.clientId (set by the identity plugin) before the IP', async () => {
    // A bare server running only this plugin, with the identity the identity plugin would set.
    const plugin = useRateLimit({ perClient: { points: 1, durationSec: 60 }, logger: createLogger({ level: 'silent' }) });
    const server = createServer(async (req, res) => {
      const ctx = new RequestContext(req, res, 0);
      ctx.ip = '127.0.0.1';
      ctx.target = { kind: 'graphql' };
      const who = req.headers['x-test-client'];
      if (typeof who === 'string') ctx.identity = { kind: 'jwt', subject: who, roles: [], clientId: who, claims: {} } satisfies Identity;
      try {
        await plugin.onRequest!(ctx);
        res.end('ok');
      } catch (err) {
        res.statusCode = isGatewayError(err) ? err.status : 500;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const status = async (client?: string) => (await fetch(url, { headers: client ? { 'x-test-client': client } : {} })).status;
    try {
      expect([await status('alice'), await status('alice'), await status('bob'), await status(), await status()]).toEqual([200, 429, 200, 200, 429]);
    } finally {
      server.close();
      await plugin.close?.();
    }
  });

  it('opens again once the window has passed', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 1, durationSec: 1 } }) });
    expect((await gw.gql(USER)).status).toBe(200);
    const over = await gw.gql(USER);
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await gw.gql(USER);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('never limits health, readiness or metrics endpoints', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 1, durationSec: 60 } }) });
    for (let i = 0; i < 3; i++) {
      const r = await get(gw, '/healthz');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('sends the IETF RateLimit and RateLimit-Policy fields when rateLimit.headers is both', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 5, durationSec: 60 }, headers: 'both' }) });
    const r = await gw.gql(USER);
    expect(r.headers.get('ratelimit-policy')).toBe('"client";q=5;w=60');
    expect(r.headers.get('ratelimit')).toMatch(/^"client";r=4;t=(59|60)$/);
    expect(r.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('sends only the IETF fields when rateLimit.headers is ietf', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { perClient: { points: 5, durationSec: 60 }, headers: 'ietf' }) });
    const r = await gw.gql(USER);
    expect(r.headers.get('ratelimit')).toMatch(/^"client";r=4;t=\d+$/);
    expect(r.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('per-route limit', () => {
  const routes = [
    { name: 'users-api', match: { pathPrefix: '/users' }, upstream: 'users', rateLimit: { points: 2, durationSec: 60 } },
    { name: 'orders-api', match: { pathPrefix: '/orders' }, upstream: 'orders' },
  ];

  it('limits the route, with headers on every response and a JSON 429 that reaches no upstream', async () => {
    gw = await startTestGateway({ configure: (c) => (c.routes = routes) });
    for (const expected of ['1', '0']) {
      const r = await get(gw, '/users/1');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('2');
      expect(r.headers.get('x-ratelimit-remaining')).toBe(expected);
      await r.arrayBuffer();
    }
    const over = await get(gw, '/users/1', { 'x-request-id': 'rl-route-1' });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(await over.json()).toEqual({ error: expect.any(String), code: 'RATE_LIMITED', requestId: 'rl-route-1' });
    expect(gw.demo.users.recorder.callsTo('/users/1')).toHaveLength(2);

    // Another route has no window of its own and no per-client window: no headers, no limit.
    for (let i = 0; i < 3; i++) {
      const r = await get(gw, '/orders/o1');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
      await r.arrayBuffer();
    }
  });

  it('reports the most restrictive of the per-client and per-route windows', async () => {
    gw = await startTestGateway({
      configure: (c) => {
        c.routes = routes;
        c.rateLimit = { perClient: { points: 10, durationSec: 60 }, headers: 'both' };
      },
    });
    const r = await get(gw, '/users/1');
    await r.arrayBuffer();
    expect(r.headers.get('x-ratelimit-limit')).toBe('2');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(r.headers.get('ratelimit-policy')).toBe('"client";q=10;w=60, "users-api";q=2;w=60');
    expect(r.headers.get('ratelimit')).toMatch(/^"client";r=9;t=\d+, "users-api";r=1;t=\d+$/);
    const g = await gw.gql(USER);
    expect(g.headers.get('x-ratelimit-limit')).toBe('10');
    expect(g.headers.get('x-ratelimit-remaining')).toBe('8');
  });
});

describe('global limit', () => {
  it('holds across clients and answers 429 with Retry-After', async () => {
    gw = await startTestGateway({
      configure: (c) => {
        c.server.trustProxy = true;
        c.rateLimit = { global: { points: 2, durationSec: 60 } };
      },
    });
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await gw.gql(USER, undefined, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    const calls = upstreamCalls(gw);
    const over = await gw.gql(USER, undefined, { 'x-forwarded-for': '198.51.100.3' });
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // No per-client window applies: no X-RateLimit-* fields.
    expect(over.headers.get('x-ratelimit-limit')).toBeNull();
    expect(upstreamCalls(gw)).toBe(calls);
  });
});

describe('per-field limit', () => {
  it('counts every resolution, aliases included, and answers only that field with RATE_LIMITED', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { fields: { 'Query.user': { points: 2, durationSec: 60 } } }) });
    const r = await gw.gql('{ a: user(id: "1") { name } b: user(id: "2") { name } c: user(id: "3") { name } product(id: "p1") { name } }');
    expect(r.status).toBe(200);
    expect(r.body.data.a).toEqual({ name: gw.demo.data.users.get('1')!.name });
    expect(r.body.data.b).toEqual({ name: gw.demo.data.users.get('2')!.name });
    expect(r.body.data.c).toBeNull();
    expect(r.body.data.product).toEqual({ name: gw.demo.data.products.get('p1')!.name });
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0]!.path).toEqual(['c']);
    expect(r.body.errors![0]!.extensions?.code).toBe('RATE_LIMITED');
    // The refused resolution never asked the upstream for user 3.
    const asked = gw.demo.users.recorder.calls.flatMap((c) => [c.path, c.query.get('ids') ?? '']).join(' ');
    expect(asked).not.toMatch(/\b3\b/);

    // The window is per client and spans requests: the next request gets no user at all.
    const next = await gw.gql('{ user(id: "4") { name } }');
    expect(next.body.data.user).toBeNull();
    expect(next.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Field windows do not put X-RateLimit-* on the response (those are for request-level windows).
    expect(next.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('counts nested resolutions of a list field one by one', async () => {
    gw = await startTestGateway({ configure: (c) => (c.rateLimit = { fields: { 'Order.status': { points: 3, durationSec: 60 } } }) });
    // Users 1 and 2 have two orders each: four resolutions of Order.status, one over the window.
    const r = await gw.gql('{ users(ids: ["1", "2"]) { orders { status } } }');
    expect(r.status).toBe(200);
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0]!.extensions?.code).toBe('RATE_LIMITED');
    expect(r.body.errors![0]!.path?.slice(-1)).toEqual(['status']);
  });

  it('reads @rateLimit directives, with the config winning, and rejects unknown fields by key path', () => {
    const schema = buildSchema(`
      directive @rateLimit(points: Int!, durationSec: Int!) on FIELD_DEFINITION
      type Query { a: Int @rateLimit(points: 4, durationSec: 10) b: Int @rateLimit(points: 1, durationSec: 1) c: Int }
    `);
    const windows = collectFieldWindows(schema, { 'Query.b': { points: 9, durationSec: 60 } });
    expect(Object.fromEntries(windows)).toEqual({
      'Query.a': { points: 4, durationSec: 10 },
      'Query.b': { points: 9, durationSec: 60 },
    });
    let err: unknown;
    try {
      collectFieldWindows(schema, { 'Query.nope': { points: 1, durationSec: 1 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]!.path).toBe('rateLimit.fields.Query.nope');
  });
});

describe('anonymous IPv6 clients', () => {
  it('share one per-client window per /64: rotating addresses inside it gets no fresh window', async () => {
    const gw = await startTestGateway({
      configure: (c) => {
        c.server.trustProxy = ['loopback'];
        c.rateLimit = { perClient: { points: 2, durationSec: 60 } };
      },
    });
    try {
      const from = async (ip: string) => (await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'x-forwarded-for': ip } })).status;
      expect(await from('2001:db8:1:2::1')).toBe(200);
      expect(await from('2001:db8:1:2::abcd')).toBe(200);
      expect(await from('2001:db8:1:2:ffff::9')).toBe(429); // same /64
      expect(await from('2001:db8:1:3::1')).toBe(200); // the next /64 is another client
      expect(await from('203.0.113.7')).toBe(200); // IPv4 addresses stay their own
    } finally {
      await gw.close();
    }
  });
});
