/** Redis helpers for tests: the URL, whether to skip, and a unique key prefix per test file. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when Redis tests must skip (no Redis and not required). Use with `describe.skipIf`. */
export const noRedis = process.env.REDIS_AVAILABLE !== '1' && process.env.REQUIRE_REDIS !== '1';

/** A fresh key prefix, so parallel test files never share state. */
export function testPrefix(name: string): string {
  return `gwtest:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under a prefix (call in afterAll). */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Waits (up to `timeoutMs`) until some key exists under a prefix: a write made without waiting has landed. */
export async function waitForKey(prefix: string, timeoutMs = 3000): Promise<boolean> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) return true;
        cursor = next;
      } while (cursor !== '0');
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  } finally {
    client.disconnect();
  }
}
