/**
 * What a browser session costs per request: loading one session record
 * (src/auth/oidc/sessions.ts) from the memory store (the object itself) and from Redis (one
 * `GET`, then opening the sealed record), the step every
 * cookie-authenticated request takes before the identity step. No provider is contacted (the
 * token is fresh). `node bin/tsx.js bench/session-lookup.ts [--redis redis://…]`
 */
import { oidcSchema } from '../src/config/oidc-schema.js';
import { OidcProvider } from '../src/auth/oidc/provider.js';
import { SessionManager } from '../src/auth/oidc/sessions.js';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../src/auth/oidc/session-store.js';
import { createRedis } from '../src/redis/client.js';

const cfg = oidcSchema.parse({
  issuer: 'https://idp.invalid',
  clientId: 'bench',
  clientSecret: 'bench',
  redirectUri: 'https://gw.invalid/auth/callback',
  sessionSecret: 'bench-session-secret-0123456789-abcdef',
});
const redisUrl = process.argv.includes('--redis') ? process.argv[process.argv.indexOf('--redis') + 1] : 'redis://127.0.0.1:6379';

async function measure(name: string, store: SessionStore, n: number): Promise<void> {
  const sessions = new SessionManager(cfg, store, new OidcProvider(cfg));
  // Token sizes of a typical provider: a ~1 KB JWT access token, a refresh token, a ~1 KB ID token.
  const s = await sessions.create({ accessToken: 'a'.repeat(1000), refreshToken: 'r'.repeat(200), idToken: 'i'.repeat(1000), accessExpiresAt: Date.now() + 3_600_000, claims: { sub: 'user-1', name: 'User One', email: 'u1@example.test', roles: ['member'] } });
  for (let i = 0; i < 1000; i++) await sessions.load(s.id);
  // Five runs; the median of each measure. CPU time (process.cpuUsage) is what other load on a shared machine disturbs least.
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < 5; run++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = await sessions.load(s.id);
      if (!r) throw new Error('lost the session');
    }
    wall.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / n);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
  console.log(`${name}: ${median(wall).toFixed(1)} µs per lookup, ${median(cpu).toFixed(1)} µs CPU (median of 5 × ${n} sequential lookups)`);
  await sessions.revoke(s.id);
  await store.close();
}

await measure('memory', new MemorySessionStore(cfg.session.maxBytes, 100), 20_000);
try {
  await measure('redis', new RedisSessionStore(createRedis({ url: redisUrl, keyPrefix: 'bench:' }, { failFast: true }), 'bench:', cfg.sessionSecret), 1_000);
} catch (err) {
  console.log(`redis: skipped (${(err as Error).message})`);
}
