/**
 * The HTTP upstream client's path building: template parameters are one segment each, and a
 * hand-built string path that could address another resource is refused before any call (the
 * recording upstream proves nothing was sent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assertPlainPath, upstreamPath } from '../../src/upstream/http/path-template.js';
import { HttpUpstream } from '../../src/upstream/http/http-upstream.js';
import { isGatewayError } from '../../src/errors.js';
import { pathsConfig, startRecordingUpstream, type RecordingUpstream } from './helpers/paths-servers.js';

describe('upstreamPath', () => {
  it('every string parameter is exactly one segment that decodes back to the value', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), (id) => {
        const p = upstreamPath`/items/${id}/detail`.value;
        const segments = p.split('/');
        expect(segments).toHaveLength(4);
        expect(segments[3]).toBe('detail');
        const seg = segments[2]!;
        expect(/^\.{1,2}$/.test(seg)).toBe(false);
        expect(/[#?\\;]/.test(seg)).toBe(false);
        expect(decodeURIComponent(seg)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['.', '/items/%2E'],
    ['..', '/items/%2E%2E'],
    ['../../admin', '/items/..%2F..%2Fadmin'],
    ['a#b', '/items/a%23b'],
    ['a?b=1', '/items/a%3Fb%3D1'],
    ['a;b', '/items/a%3Bb'],
    ['a\\b', '/items/a%5Cb'],
    ['%2e%2e', '/items/%252e%252e'],
    [7, '/items/7'],
  ])('%j → %s', (id, expected) => {
    expect(upstreamPath`/items/${id}`.value).toBe(expected);
  });

  it('query parameters are encoded values; arrays become comma lists of encoded values', () => {
    expect(upstreamPath`/users?ids=${['1', 'a,b', '&x=1']}`.value).toBe('/users?ids=1,a%2Cb,%26x%3D1');
    expect(upstreamPath`/users?name=${'a&b=c#d'}`.value).toBe('/users?name=a%26b%3Dc%23d');
  });

  it('an empty parameter is refused (it would address the parent resource)', () => {
    expect(() => upstreamPath`/items/${''}`).toThrow(/empty/);
  });
});

describe('assertPlainPath', () => {
  it.each([
    '/items/..', '/items/../admin', '/items/.', '/items/%2e%2e', '/items/%2E', '/items/.%2e/x', '/items/..;x/y',
    '/items/x#y', '/items/x\\y', 'items/x', '', '/items/\u0000', '/items/a b', '/items/\u00e9', '/items/x\t',
  ])('refuses %j', (p) => {
    let err: unknown;
    try {
      assertPlainPath(p);
    } catch (e) {
      err = e;
    }
    expect(isGatewayError(err) && err.code).toBe('BAD_REQUEST');
  });

  it.each(['/items/7', '/items/a.b', '/items/..x', '/items/7?back=../x', '/users?ids=1,2', '/'])('accepts %j', (p) => {
    expect(() => assertPlainPath(p)).not.toThrow();
  });
});

describe('the HTTP upstream client', () => {
  let up: RecordingUpstream;
  let client: HttpUpstream;

  beforeAll(async () => {
    up = await startRecordingUpstream();
    client = new HttpUpstream('pub', pathsConfig(up.url, up.url).upstreams.pub!, []);
  });
  afterAll(async () => {
    await client?.close();
    await up?.close();
  });

  it('refuses a hand-built path with a dot segment before any call', async () => {
    await expect(client.json(undefined, 'GET', '/items/../admin')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(client.json(undefined, 'GET', '/items/x#/admin')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(up.received).toEqual([]);
  });

  it('sends a template path exactly as built', async () => {
    const data = await client.json<{ path: string }>(undefined, 'GET', upstreamPath`/items/${'..'}`);
    expect(data?.path).toBe('/items/%2E%2E');
    expect(up.received).toEqual(['/items/%2E%2E']);
  });
});
