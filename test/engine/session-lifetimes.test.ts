/**
 * Session records (src/auth/oidc/sessions.ts): idle and absolute lifetimes (the clock faked,
 * nothing else), refresh without a refresh token ending the session, and the memory store
 * (records kept as objects: a synchronous lookup, shared and frozen, bounded by bytes). Sealing,
 * which only the Redis store does, is tested in ./session-store-redis.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { oidcSchema } from '../../src/config/oidc-schema.js';
import { OidcProvider } from '../../src/auth/oidc/provider.js';
import { SessionManager } from '../../src/auth/oidc/sessions.js';
import { MemorySessionStore } from '../../src/auth/oidc/session-store.js';

const cfg = oidcSchema.parse({
  issuer: 'https://idp.invalid',
  clientId: 'c',
  clientSecret: 's',
  redirectUri: 'https://gw.invalid/auth/callback',
  sessionSecret: 'lifetime-test-secret-0123456789-abcdef',
  session: { idleTimeoutSec: 600, absoluteTimeoutSec: 3600 },
});
const tokens = (accessExpiresAt: number, refresh = true) => ({ accessToken: 'a', refreshToken: refresh ? 'r' : undefined, idToken: 'i', accessExpiresAt, claims: { sub: 'u1', name: 'U', secret: 'x' } });

function manager(store = new MemorySessionStore(1 << 20, 10)) {
  // The provider is never contacted here (a refresh without a refresh token ends before it).
  return { store, sessions: new SessionManager(cfg, store, new OidcProvider(cfg)) };
}

afterEach(() => vi.useRealTimers());

describe('session lifetimes', () => {
  it('ends a session unused for idleTimeoutSec', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { sessions } = manager();
    const s = await sessions.create(tokens(Date.now() + 3_600_000));
    expect(s.record.claims).toEqual({ sub: 'u1', name: 'U' });
    vi.setSystemTime(Date.now() + 599_000);
    expect(await sessions.load(s.id)).toBeDefined();
    vi.setSystemTime(Date.now() + 599_000);
    expect(await sessions.load(s.id)).toBeDefined();
    vi.setSystemTime(Date.now() + 601_000);
    expect(await sessions.load(s.id)).toBeUndefined();
  });

  it('ends a session absoluteTimeoutSec after login however often it is used', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { sessions } = manager();
    const start = Date.now();
    const s = await sessions.create(tokens(start + 7_200_000));
    for (let t = 300_000; t < 3_600_000; t += 300_000) {
      vi.setSystemTime(start + t);
      expect(await sessions.load(s.id), `at ${t / 1000} s`).toBeDefined();
    }
    vi.setSystemTime(start + 3_600_000);
    expect(await sessions.load(s.id)).toBeUndefined();
  });

  it('ends the session when the token is due and there is no refresh token', async () => {
    const { sessions } = manager();
    const s = await sessions.create(tokens(Date.now() + 1000, false));
    await expect(sessions.fresh(s.id, s.record)).rejects.toMatchObject({ code: 'SESSION_EXPIRED', status: 401 });
    expect(await sessions.load(s.id)).toBeUndefined();
  });
});

describe('memory session store', () => {
  it('answers a lookup synchronously, with the record as saved, and nothing for an unknown id', async () => {
    const { store, sessions } = manager();
    const s = await sessions.create(tokens(Date.now() + 3_600_000));
    const got = sessions.load(s.id);
    expect(got).not.toBeInstanceOf(Promise);
    expect(got).toEqual(s.record);
    expect(store.get(s.id)).toBe(got);
    expect(sessions.load('x'.repeat(43))).toBeUndefined();
  });

  it('hands out frozen copies: neither the caller that saved a record nor one that reads it can change what others read', async () => {
    const { store, sessions } = manager();
    const s = await sessions.create(tokens(Date.now() + 3_600_000));
    s.record.roles.push('admin');
    s.record.sub = 'someone-else';
    const got = (await sessions.load(s.id))!;
    expect(got.roles).toEqual([]);
    expect(got.sub).toBe('u1');
    expect(() => got.roles.push('admin')).toThrow(TypeError);
    expect(() => {
      (got.claims as Record<string, unknown>).name = 'changed';
    }).toThrow(TypeError);
    expect(store.get(s.id)!.claims).toEqual({ sub: 'u1', name: 'U' });
  });

  it('records its use at most once a minute, with a new record (the one handed out before is unchanged)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { sessions } = manager();
    const s = await sessions.create(tokens(Date.now() + 3_600_000));
    const first = (await sessions.load(s.id))!;
    vi.setSystemTime(Date.now() + 30_000);
    expect(sessions.load(s.id)).toBe(first);
    vi.setSystemTime(Date.now() + 31_000);
    const touched = (await sessions.load(s.id))!;
    expect(touched.lastSeenAt).toBe(Date.now());
    expect(first.lastSeenAt).toBe(s.record.lastSeenAt);
    expect(sessions.load(s.id)).toEqual(touched);
  });

  it('is bounded by bytes: past maxBytes the least recently used sessions go', async () => {
    // Each record here is charged ~1.2 KB (JSON) + id + 200: 8 KB hold five or six of them.
    const big = (n: number) => ({ ...tokens(Date.now() + 3_600_000), accessToken: 'a'.repeat(1000), claims: { sub: `u${n}` } });
    const { sessions } = manager(new MemorySessionStore(8 * 1024, 10));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await sessions.create(big(i))).id);
    const alive = ids.map((id) => sessions.load(id) !== undefined);
    expect(alive.slice(-5)).toEqual([true, true, true, true, true]);
    expect(alive.filter(Boolean).length).toBeLessThanOrEqual(6);
    expect(alive.slice(0, 10).some(Boolean)).toBe(false);
  });
});

describe('session roles', () => {
  it('read the roles claim as a JWT is read: dotted paths, lists and comma or space strings', async () => {
    const nested = new SessionManager(oidcSchema.parse({ ...cfg, rolesClaim: 'realm_access.roles' }), new MemorySessionStore(1 << 20, 10), new OidcProvider(cfg));
    const a = await nested.create({ ...tokens(Date.now() + 60_000), claims: { sub: 'u1', realm_access: { roles: ['admin', 'ops'] } } });
    expect(a.record.roles).toEqual(['admin', 'ops']);
    const { sessions } = manager();
    const b = await sessions.create({ ...tokens(Date.now() + 60_000), claims: { sub: 'u2', [cfg.rolesClaim]: 'admin,ops reader' } });
    expect(b.record.roles).toEqual(['admin', 'ops', 'reader']);
  });
});
