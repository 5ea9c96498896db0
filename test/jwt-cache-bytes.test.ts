/**
 * Verified JWTs are remembered so a repeat token skips the signature check; tokens are the
 * clients', so what is remembered is bounded in bytes (`auth.jwt.cacheMaxBytes`) as well as entries.
 */
import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { JwtVerifier } from '../src/auth/jwt-verifier.js';
import { parseConfig } from '../src/config/load.js';

const SECRET = 'jwt-cache-bytes-test-secret-0123456789';

function verifier(jwt: Record<string, unknown>): JwtVerifier {
  const config = parseConfig(JSON.stringify({ auth: { jwt: { algorithms: ['HS256'], secret: SECRET, ...jwt } }, upstreams: {} }), {});
  return new JwtVerifier(config.auth.jwt!);
}

const sign = (sub: string, padding: number) =>
  new SignJWT({ pad: 'x'.repeat(padding) }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

describe('remembered JWTs', () => {
  it('stay within cacheMaxBytes however many large tokens arrive; the newest are kept', async () => {
    const v = verifier({ cacheSize: 10_000, cacheMaxBytes: 32_768 });
    const tokens: string[] = [];
    for (let i = 0; i < 60; i++) tokens.push(await sign(`user-${i}`, 2000));
    for (const t of tokens) expect((await v.verify(t)).payload.sub).toMatch(/^user-/);
    const { entries, bytes } = v.rememberedSize;
    expect(bytes).toBeLessThanOrEqual(32_768);
    // Each ~2.8 KB token counts ~5.9 KB: five fit, not sixty.
    expect(entries).toBeGreaterThan(0);
    expect(entries).toBeLessThan(8);
    expect(v.remembered(tokens.at(-1)!)?.payload.sub).toBe('user-59');
    expect(v.remembered(tokens[0]!)).toBeUndefined();
  });

  it('cacheMaxBytes 0 remembers nothing; small tokens fill the entry bound instead', async () => {
    const off = verifier({ cacheMaxBytes: 0 });
    const t = await sign('a', 0);
    await off.verify(t);
    expect(off.remembered(t)).toBeUndefined();
    const v = verifier({ cacheSize: 3 });
    for (let i = 0; i < 5; i++) await v.verify(await sign(`s${i}`, 0));
    expect(v.rememberedSize.entries).toBe(3);
  });
});
