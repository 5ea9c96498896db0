/**
 * The Redis session store: records are sealed at rest under a digest of the session id (a
 * record altered, moved to another id or opened with another secret is no session), and the
 * store waits (once, shared, bounded) only for its first connection; a connection that was up
 * and is lost fails each command at once with a 503, so requests never queue behind a dead Redis.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { oidcSchema } from '../../src/config/oidc-schema.js';
import { OidcProvider } from '../../src/auth/oidc/provider.js';
import { SessionManager, type SessionRecord } from '../../src/auth/oidc/sessions.js';
import { RedisSessionStore, storeKey } from '../../src/auth/oidc/session-store.js';
import { Sealer } from '../../src/auth/oidc/seal.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from '../helpers/redis.js';

const prefix = testPrefix('session-store');
afterAll(() => dropPrefix(prefix));

const SECRET = 'redis-store-test-secret-0123456789-abcdef';
const record = (sub: string): SessionRecord => ({ sub, roles: ['member'], claims: { sub }, accessToken: `token-of-${sub}`, refreshToken: 'r', idToken: 'i', accessExpiresAt: Date.now() + 3_600_000, createdAt: Date.now(), lastSeenAt: Date.now() });

describe.skipIf(noRedis)('Redis session store', () => {
  it('commands sent before the first connection wait for it; after a lost connection they fail at once', async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const store = new RedisSessionStore(client as never, prefix, SECRET);
    // Sent while still connecting: both wait for the one connection, then run.
    await Promise.all([store.set('a', record('a'), 60_000), store.set('b', record('b'), 60_000)]);
    expect((await store.get('a'))?.sub).toBe('a');
    const ended = new Promise((r) => client.once('end', r));
    client.disconnect();
    await ended;
    const started = performance.now();
    const err = await store.get('b').then(() => undefined, (e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(200);
    expect((err as { code?: string }).code).toBe('SERVICE_UNAVAILABLE');
  });

  it('a record altered, moved to another id or sealed with another secret is no session', async () => {
    const cfg = oidcSchema.parse({ issuer: 'https://idp.invalid', clientId: 'c', clientSecret: 's', redirectUri: 'https://gw.invalid/auth/callback', sessionSecret: SECRET });
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const other = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const store = new RedisSessionStore(client as never, prefix, SECRET);
      const sessions = new SessionManager(cfg, store, new OidcProvider(cfg));
      const tokens = { accessToken: 'access-token-a', refreshToken: 'r', idToken: 'i', accessExpiresAt: Date.now() + 3_600_000, claims: { sub: 'u1' } };
      const a = await sessions.create(tokens);
      const b = await sessions.create({ ...tokens, accessToken: 'access-token-b' });
      // What Redis holds: sealed, under the digest of the id.
      expect(await raw.exists(`${prefix}sess:${a.id}`)).toBe(0);
      const sealedA = (await raw.get(`${prefix}sess:${storeKey(a.id)}`))!;
      expect(sealedA).not.toContain('access-token-a');
      expect(Buffer.from(sealedA, 'base64url').toString('latin1')).not.toContain('access-token-a');
      // Opened with another secret: nothing.
      expect(await new RedisSessionStore(other as never, prefix, 'another-secret-0123456789-0123456789-ab').get(a.id)).toBeUndefined();
      // Moved: A's record under B's key.
      await raw.set(`${prefix}sess:${storeKey(b.id)}`, sealedA, 'PX', 60_000);
      expect(await sessions.load(b.id)).toBeUndefined();
      fc.assert(
        fc.property(fc.nat({ max: sealedA.length - 1 }), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_-0123456789'), (i, ch) => {
          fc.pre(sealedA[i] !== ch);
          const altered = sealedA.slice(0, i) + ch + sealedA.slice(i + 1);
          // The last character carries only some bits of the tag: a change there may decode to the same bytes.
          const same = Buffer.from(altered, 'base64url').equals(Buffer.from(sealedA, 'base64url'));
          expect(new Sealer(SECRET).open(a.id, altered) === undefined).toBe(!same);
        }),
        { numRuns: 300 },
      );
      // An altered record in Redis is no session either.
      const altered = sealedA.slice(0, 20) + (sealedA[20] === 'A' ? 'B' : 'A') + sealedA.slice(21);
      await raw.set(`${prefix}sess:${storeKey(a.id)}`, altered, 'PX', 60_000);
      expect(await sessions.load(a.id)).toBeUndefined();
      await raw.set(`${prefix}sess:${storeKey(a.id)}`, sealedA, 'PX', 60_000);
      expect((await sessions.load(a.id))?.accessToken).toBe('access-token-a');
    } finally {
      client.disconnect();
      raw.disconnect();
      other.disconnect();
    }
  });
});
