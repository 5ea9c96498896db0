/**
 * The Redis session store waits (once, shared, bounded) only for its first connection; a
 * connection that was up and is lost fails each command at once with a 503, so requests never
 * queue behind a dead Redis.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../../src/auth/oidc/session-store.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from '../helpers/redis.js';

const prefix = testPrefix('session-store');
afterAll(() => dropPrefix(prefix));

describe.skipIf(noRedis)('Redis session store', () => {
  it('commands sent before the first connection wait for it; after a lost connection they fail at once', async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const store = new RedisSessionStore(client as never, prefix);
    // Sent while still connecting: both wait for the one connection, then run.
    await Promise.all([store.set('a', 'sealed-a', 60_000), store.set('b', 'sealed-b', 60_000)]);
    expect(await store.get('a')).toBe('sealed-a');
    const ended = new Promise((r) => client.once('end', r));
    client.disconnect();
    await ended;
    const started = performance.now();
    const err = await store.get('b').then(() => undefined, (e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(200);
    expect((err as { code?: string }).code).toBe('SERVICE_UNAVAILABLE');
  });
});
