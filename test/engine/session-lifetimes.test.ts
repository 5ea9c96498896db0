/**
 * Session records (src/auth/oidc/sessions.ts, seal.ts): idle and absolute lifetimes (the clock
 * faked, nothing else), sealing (a record altered, moved to another id or opened with another
 * secret is no session), and refresh without a refresh token ending the session.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { oidcSchema } from '../../src/config/oidc-schema.js';
import { OidcProvider } from '../../src/auth/oidc/provider.js';
import { SessionManager } from '../../src/auth/oidc/sessions.js';
import { MemorySessionStore, storeKey } from '../../src/auth/oidc/session-store.js';
import { Sealer } from '../../src/auth/oidc/seal.js';

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

  it('a record altered, moved to another id or sealed with another secret is no session', async () => {
    const { store, sessions } = manager();
    const a = await sessions.create(tokens(Date.now() + 3_600_000));
    const b = await sessions.create(tokens(Date.now() + 3_600_000));
    const sealedA = (await store.get(storeKey(a.id)))!;
    // Moved: A's record under B's key.
    await store.set(storeKey(b.id), sealedA, 60_000);
    expect(await sessions.load(b.id)).toBeUndefined();
    const other = new Sealer('another-secret-0123456789-0123456789-ab');
    expect(other.open(a.id, sealedA)).toBeUndefined();
    fc.assert(
      fc.property(fc.nat({ max: sealedA.length - 1 }), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_-0123456789'), (i, ch) => {
        fc.pre(sealedA[i] !== ch);
        const altered = sealedA.slice(0, i) + ch + sealedA.slice(i + 1);
        // The last character carries only some bits of the tag: a change there may decode to the same bytes.
        const same = Buffer.from(altered, 'base64url').equals(Buffer.from(sealedA, 'base64url'));
        expect(new Sealer(cfg.sessionSecret).open(a.id, altered) === undefined).toBe(!same);
      }),
      { numRuns: 300 },
    );
    expect(await sessions.load(a.id)).toBeDefined();
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
