/**
 * Rate limits counted in Redis: shared by several gateway instances, and what happens when
 * Redis is unreachable (failOpen on: per-instance memory windows, no failed request; off: 503),
 * including a Redis that dies mid-run and comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';

const USER = '{ user(id: "1") { name } }';
const prefixes: string[] = [];
const gateways: TestGateway[] = [];

function prefix(name: string): string {
  const p = testPrefix(`rl-${name}`);
  prefixes.push(p);
  return p;
}

async function start(configure: (c: Record<string, any>) => void, opts: { demo?: FixtureUpstreams; logLines?: string[] } = {}): Promise<TestGateway> {
  const logger = opts.logLines
    ? createLogger({ level: 'info', destination: { write: (s: string) => void opts.logLines!.push(s) } })
    : undefined;
  const gw = await startTestGateway({ configure, demo: opts.demo, logger });
  gateways.push(gw);
  return gw;
}

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  if (!noRedis) await Promise.all(prefixes.map(dropPrefix));
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A throw-away Redis server on its own port, so the test can kill it. */
async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {}); // refused while the server starts; connect() reports it
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      // Not listening yet: try again shortly.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return child;
}

async function stopRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(noRedis)('limits shared through Redis', () => {
  it('three instances share one per-client window: exactly 30 of 60 requests are admitted', async () => {
    const keyPrefix = prefix('shared');
    const demo = await startFixtureUpstreams();
    try {
      const configure = (c: Record<string, any>) => {
        c.redis = { url: REDIS_URL, keyPrefix };
        c.rateLimit = { perClient: { points: 30, durationSec: 60 }, failOpen: false };
      };
      const gws = [await start(configure, { demo }), await start(configure, { demo }), await start(configure, { demo })];
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => gws[i % 3]!.gql(USER)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(statuses.filter((s) => s === 429)).toHaveLength(30);
      // Every instance saw the shared count, not its own: each one refused some requests.
      for (let g = 0; g < 3; g++) expect(results.filter((r, i) => i % 3 === g && r.status === 429).length).toBeGreaterThan(0);
      const remaining = results.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
      expect(remaining).toEqual(Array.from({ length: 30 }, (_, i) => i));
      // The counter really is in Redis, under the configured prefix.
      const client = new Redis(REDIS_URL);
      const keys = await client.keys(`${keyPrefix}rl:perClient:*`);
      client.disconnect();
      expect(keys).toHaveLength(1);
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await demo.close();
    }
  });

  it('a route window and a field window hold across two instances', async () => {
    const keyPrefix = prefix('route-field');
    const demo = await startFixtureUpstreams();
    try {
      const configure = (c: Record<string, any>) => {
        c.redis = { url: REDIS_URL, keyPrefix };
        c.routes = [{ name: 'users-api', match: { pathPrefix: '/users' }, upstream: 'users', rateLimit: { points: 2, durationSec: 60 } }];
        c.rateLimit = { fields: { 'Query.product': { points: 1, durationSec: 60 } } };
      };
      const [a, b] = [await start(configure, { demo }), await start(configure, { demo })];
      const codes: number[] = [];
      for (const g of [a!, b!, a!]) {
        const r = await fetch(`${g.url}/users/2`);
        await r.arrayBuffer();
        codes.push(r.status);
      }
      expect(codes).toEqual([200, 200, 429]);
      const first = await a!.gql('{ product(id: "p1") { name } }');
      expect(first.body.data.product).not.toBeNull();
      const second = await b!.gql('{ product(id: "p1") { name } }');
      expect(second.body.data.product).toBeNull();
      expect(second.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await demo.close();
    }
  });
});

describe('Redis unreachable', () => {
  it('failOpen: falls back to per-instance memory windows, with no failed request, logged once', async () => {
    const lines: string[] = [];
    const port = await freePort();
    const gw = await start((c) => {
      c.redis = { url: `redis://127.0.0.1:${port}`, keyPrefix: 'gwtest:unreachable:' };
      c.rateLimit = { perClient: { points: 3, durationSec: 60 }, failOpen: true };
    }, { logLines: lines });
    const t0 = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await gw.gql(USER)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Date.now() - t0).toBeLessThan(3000);
    const warnings = lines.filter((l) => l.includes('rate limits: Redis is unreachable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('per-instance memory');
  });

  it('failOpen false: answers 503 and says why', async () => {
    const port = await freePort();
    const gw = await start((c) => {
      c.redis = { url: `redis://127.0.0.1:${port}` };
      c.rateLimit = { perClient: { points: 3, durationSec: 60 }, failOpen: false };
    });
    const r = await gw.gql(USER);
    expect(r.status).toBe(503);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(r.body.errors?.[0]?.message).toMatch(/Redis is unreachable/);
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
  });

  it('failOpen false: a field window answers its field with SERVICE_UNAVAILABLE and keeps the rest', async () => {
    const port = await freePort();
    const gw = await start((c) => {
      c.redis = { url: `redis://127.0.0.1:${port}` };
      c.rateLimit = { fields: { 'Query.product': { points: 3, durationSec: 60 } }, failOpen: false };
    });
    const r = await gw.gql('{ product(id: "p1") { name } user(id: "1") { name } }');
    expect(r.status).toBe(200);
    expect(r.body.data.product).toBeNull();
    expect(r.body.data.user).toEqual({ name: gw.demo.data.users.get('1')!.name });
    expect(r.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['product'], 'SERVICE_UNAVAILABLE']]);
    expect(gw.demo.catalog.recorder.calls).toHaveLength(0);
  });

  it('failOpen: a Redis that accepts connections but never answers holds no request for long', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const blackhole = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as { port: number }).port;
    try {
      const gw = await start((c) => {
        c.redis = { url: `redis://127.0.0.1:${port}` };
        c.rateLimit = { perClient: { points: 2, durationSec: 60 }, failOpen: true };
      });
      const t0 = Date.now();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await gw.gql(USER)).status);
      expect(statuses).toEqual([200, 200, 429]);
      expect(Date.now() - t0).toBeLessThan(2500);
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      for (const s of sockets) s.destroy();
      await new Promise((r) => blackhole.close(r));
    }
  });

  it.skipIf(noRedis)('failOpen: Redis hanging mid-run costs one command timeout, then is skipped, then used again', async () => {
    // A TCP relay to the real Redis that can stop relaying answers (a hung Redis, connection up).
    const target = new URL(REDIS_URL);
    let frozen = false;
    const held: Array<() => void> = [];
    const relay = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (frozen) held.push(() => client.write(chunk));
        else client.write(chunk);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    const keyPrefix = prefix('hang');
    const lines: string[] = [];
    try {
      const gw = await start((c) => {
        c.redis = { url: `redis://127.0.0.1:${port}`, keyPrefix };
        c.rateLimit = { perClient: { points: 5, durationSec: 60 }, failOpen: true };
      }, { logLines: lines });
      expect((await gw.gql(USER)).headers.get('x-ratelimit-remaining')).toBe('4');

      frozen = true;
      let t = Date.now();
      const first = await gw.gql(USER);
      expect(first.status).toBe(200);
      expect(Date.now() - t).toBeGreaterThanOrEqual(900); // one command timeout
      t = Date.now();
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await gw.gql(USER)).status);
      expect(Date.now() - t).toBeLessThan(800); // Redis skipped: no more waiting
      expect(statuses).toEqual([200, 200, 200, 200, 429]); // the per-instance window (5) holds
      expect(lines.filter((l) => l.includes('rate limits: Redis is unreachable'))).toHaveLength(1);

      frozen = false;
      for (const f of held.splice(0)) f();
      await new Promise((r) => setTimeout(r, 2100)); // past the bypass
      const back = await gw.gql(USER);
      // Counted in Redis again, where the window still holds its earlier count.
      expect(back.status).toBe(200);
      expect(Number(back.headers.get('x-ratelimit-remaining'))).toBeLessThanOrEqual(3);
      expect(lines.some((l) => l.includes('Redis is reachable again'))).toBe(true);
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await new Promise((r) => relay.close(r));
    }
  });

  it.skipIf(noRedis)('Redis dying mid-run: no 5xx, limits still enforced per instance, Redis picked up again when it returns', async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    const lines: string[] = [];
    try {
      const gw = await start((c) => {
        c.redis = { url: `redis://127.0.0.1:${port}`, keyPrefix: 'gwtest:midrun:' };
        c.rateLimit = { perClient: { points: 4, durationSec: 60 }, failOpen: true };
      }, { logLines: lines });
      expect((await gw.gql(USER)).headers.get('x-ratelimit-remaining')).toBe('3');
      expect((await gw.gql(USER)).headers.get('x-ratelimit-remaining')).toBe('2');

      await stopRedisServer(redis);
      // Per-instance memory window (fresh): 4 admitted, then refused; never a 5xx.
      const during: number[] = [];
      for (let i = 0; i < 6; i++) during.push((await gw.gql(USER)).status);
      expect(during).toEqual([200, 200, 200, 200, 429, 429]);
      expect(lines.filter((l) => l.includes('rate limits: Redis is unreachable'))).toHaveLength(1);

      redis = await startRedisServer(port);
      await waitFor(() => lines.some((l) => l.includes('Redis is reachable again')));
      const after = await gw.gql(USER);
      expect(after.status).toBe(200);
      // Counted in the new (empty) Redis again: a fresh window there, and the key exists.
      expect(after.headers.get('x-ratelimit-remaining')).toBe('3');
      const client = new Redis(port, '127.0.0.1');
      const keys = await client.keys('gwtest:midrun:rl:perClient:*');
      client.disconnect();
      expect(keys).toHaveLength(1);
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await stopRedisServer(redis);
    }
  });
});
