/**
 * The login endpoint's `returnTo` normaliser (src/auth/oidc/return-to.ts): known-bad inputs, and
 * a property: whatever it accepts, a browser resolving it as a `Location` against the gateway's
 * origin lands on the gateway's origin or on an allowed one, never elsewhere.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeReturnTo } from '../../src/auth/oidc/return-to.js';

const GATEWAY = 'https://gw.example.test';
const ALLOWED = new Set(['https://app.example.test', 'http://localhost:5173']);

describe('returnTo normaliser', () => {
  it.each([
    '//evil.test', '//evil.test/x', '/\\evil.test', '\\\\evil.test', '/.//evil.test', '/./\\evil.test', '/a/..//evil.test',
    '/%2F%2Fevil.test', '/%2f/evil.test', '/%5Cevil.test', '/%2E%2E//evil.test', '/%', '/%zz', '/a%00b',
    '/\tx', '/ x', '/\n/evil.test', '/é',
    'https://evil.test', 'https://app.example.test.evil.test/', 'https://app.example.test@evil.test/', 'https://u:p@app.example.test/',
    'http://app.example.test/', 'javascript:alert(1)', 'data:text/html,x', 'evil.test', '///evil.test', 'https:evil.test', 'https:/evil.test',
    `/${'a'.repeat(2048)}`,
  ])('refuses %j', (bad) => {
    expect(normalizeReturnTo(bad, ALLOWED)).toBeUndefined();
  });

  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/', '/'],
    ['/app/orders?id=7#top', '/app/orders?id=7#top'],
    ['https://app.example.test/orders', 'https://app.example.test/orders'],
    ['https://APP.example.test:443/x', 'https://app.example.test/x'],
    ['http://localhost:5173/', 'http://localhost:5173/'],
  ])('accepts %j as %j', (input, out) => {
    expect(normalizeReturnTo(input, ALLOWED)).toBe(out);
  });

  it('never accepts a value that leads off the gateway and the allowed origins', () => {
    const piece = fc.constantFrom('/', '\\', '.', '..', '%2f', '%5c', '%2e', '%', '@', ':', '//', 'evil.test', 'app.example.test', 'https:', 'http:', '?', '#', 'a', ' ', '\t', '%09', ';');
    const candidate = fc.oneof(fc.array(piece, { maxLength: 8 }).map((p) => p.join('')), fc.string({ maxLength: 40 }), fc.webUrl().map(String));
    fc.assert(
      fc.property(candidate, (value) => {
        const out = normalizeReturnTo(value, ALLOWED);
        if (out === undefined) return;
        const landed = new URL(out, `${GATEWAY}/auth/callback`).origin;
        expect(landed === GATEWAY || ALLOWED.has(landed), `${JSON.stringify(value)} -> ${out}`).toBe(true);
        // What it sends is already normal: normalising it again changes nothing.
        expect(normalizeReturnTo(out, ALLOWED)).toBe(out);
      }),
      { numRuns: 3000 },
    );
  });
});
