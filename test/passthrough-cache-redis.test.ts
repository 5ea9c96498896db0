/** The passthrough response cache in Redis: one instance stores, another serves the hit. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix, waitForKey } from './helpers/redis.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';

describe.skipIf(noRedis)('response cache in redis', () => {
  const prefix = testPrefix('passthrough-cache');
  let demo: FixtureUpstreams;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    demo = await startFixtureUpstreams();
    const configure = (c: Record<string, any>) => {
      c.redis = { url: REDIS_URL, keyPrefix: prefix };
      c.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users' }, upstream: 'users', rewrite: { stripPrefix: '/api' }, cache: { ttlSec: 30 } }];
    };
    a = await startTestGateway({ demo, configure });
    b = await startTestGateway({ demo, configure });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await demo.close();
    await dropPrefix(prefix);
  });

  it('a miss on one instance is a hit on another, and the upstream saw one call', async () => {
    // Instances behind one load balancer see one Host; the Host is part of the cache key.
    const host = { host: 'api.example.test' };
    const first = await request(`${a.url}/api/users/3`, { headers: host });
    expect(first.headers['x-cache']).toBe('MISS');
    const firstBody = await first.body.json();
    // The store is written after the answer went out: wait for it to land (a loaded machine takes longer than 50 ms).
    expect(await waitForKey(prefix)).toBe(true);
    const second = await request(`${b.url}/api/users/3`, { headers: host });
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(await second.body.json()).toEqual(firstBody);
    expect(demo.users.recorder.callsTo('/users/3')).toHaveLength(1);
  });
});
