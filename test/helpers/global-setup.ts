/**
 * Runs once before the suite: finds out whether Redis is reachable and tells every test file
 * through REDIS_AVAILABLE. Without Redis, Redis tests skip loudly; with REQUIRE_REDIS=1 (CI)
 * a missing Redis fails the run instead.
 */
import { Redis } from 'ioredis';

export default async function setup(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1500, retryStrategy: () => null });
  let ok = false;
  try {
    await client.connect();
    ok = (await client.ping()) === 'PONG';
  } catch {
    ok = false;
  } finally {
    client.disconnect();
  }
  process.env.REDIS_AVAILABLE = ok ? '1' : '0';
  if (!ok) {
    const msg = `Redis is not reachable at ${url}`;
    if (process.env.REQUIRE_REDIS === '1') throw new Error(`${msg} and REQUIRE_REDIS=1: start Redis or set REDIS_URL`);
    console.warn(`\n!!! ${msg}: tests that need Redis are SKIPPED. Set REQUIRE_REDIS=1 to make this an error. !!!\n`);
  }
}
