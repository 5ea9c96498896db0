/**
 * Two gateway instances sharing browser sessions on Redis (`auth.oidc.session.store: redis`):
 * a session started on one is served by the other, a logout on one ends it on both, and an
 * expiring access token used on both at once is refreshed once at the provider (the refresh
 * lock, `SET NX PX`, plus a re-read). What Redis holds is sealed and keyed by a digest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { RunningGateway } from '../src/index.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { freePorts, gqlWith, login, oidcConfig, startOidcGateway } from './helpers/oidc-gateway.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';

if (noRedis) console.warn('\n!!! Redis unreachable: the shared-session tests are SKIPPED (REQUIRE_REDIS=1 makes this an error) !!!\n');

describe.skipIf(noRedis)('OIDC sessions shared by two instances on Redis', () => {
  const prefix = testPrefix('oidc');
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let a: RunningGateway;
  let b: RunningGateway;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    const [portA, portB] = (await freePorts(2)) as [number, number];
    urlA = `http://127.0.0.1:${portA}`;
    urlB = `http://127.0.0.1:${portB}`;
    [provider, demo] = await Promise.all([startTestProvider({ redirectUri: () => [`${urlA}/auth/callback`] }), startFixtureUpstreams()]);
    const configure = (c: Record<string, any>) => {
      c.redis = { url: REDIS_URL, keyPrefix: prefix };
      c.auth = { oidc: oidcConfig(provider, urlA, { session: { store: 'redis' } }) };
    };
    [a, b] = await Promise.all([startOidcGateway({ port: portA, demo, configure }), startOidcGateway({ port: portB, demo, configure })]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([provider?.close(), demo?.close(), dropPrefix(prefix)]);
  });

  it('serves a session started on one instance from the other; Redis holds only sealed records under digests', async () => {
    const s = await login(provider, urlA, '21');
    demo.users.recorder.reset();
    const r = await gqlWith(urlB, s.cookie, '{ me { id } }');
    expect(r.body.data.me.id).toBe('21');
    const token = String(demo.users.recorder.calls.at(-1)!.headers.authorization).slice('Bearer '.length);
    expect(token.length).toBeGreaterThan(20);
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}sess:*`);
      const id = s.cookie.split('=')[1]!;
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.some((k) => k.includes(id))).toBe(false);
      const values = await Promise.all(keys.filter((k) => !k.includes(':lock:') && !k.includes(':login:')).map((k) => redis.get(k)));
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) {
        expect(v).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(v).not.toContain(token);
        expect(Buffer.from(v!, 'base64url').toString('latin1')).not.toContain(token);
      }
      const ttl = await redis.pttl(keys.find((k) => !k.includes(':login:'))!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1800 * 1000);
    } finally {
      redis.disconnect();
    }
  });

  it('refreshes an expiring token once across both instances under 50 parallel requests', async () => {
    provider.ttl.accessToken = 5;
    const s = await login(provider, urlA, '22');
    provider.ttl.accessToken = 600;
    const before = provider.refreshes;
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => gqlWith(i % 2 ? urlB : urlA, s.cookie, '{ me { id } }')));
    expect(all.map((r) => r.body.data?.me?.id)).toEqual(Array(50).fill('22'));
    expect(provider.refreshes - before).toBe(1);
    console.info(`[oidc] 50 parallel requests over two instances on Redis: ${provider.refreshes - before} refresh`);
  });

  it('a logout on one instance ends the session on the other', async () => {
    const s = await login(provider, urlA, '23');
    expect((await fetch(`${urlB}/auth/session`, { headers: { cookie: s.cookie } })).status).toBe(200);
    const out = await fetch(`${urlA}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf': '1', accept: 'application/json' } });
    expect(out.status).toBe(200);
    expect((await out.json()).redirectTo).toContain(provider.issuer);
    expect((await fetch(`${urlB}/auth/session`, { headers: { cookie: s.cookie } })).status).toBe(401);
  });

  it('a state started on one instance can be completed on the other, once', async () => {
    provider.autoLogin = '24';
    const start = await fetch(`${urlA}/auth/login`, { redirect: 'manual' });
    const { toCallback } = await import('./helpers/oidc-gateway.js');
    const cb = new URL(await toCallback(provider, urlA, start.headers.get('location')!));
    const onB = new URL(cb.pathname + cb.search, urlB);
    const done = await fetch(onB, { redirect: 'manual' });
    expect(done.status).toBe(302);
    const again = await fetch(cb, { redirect: 'manual' });
    expect(again.status).toBe(400);
  });
});
