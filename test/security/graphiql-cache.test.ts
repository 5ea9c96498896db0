/**
 * The ~9 MB GraphiQL page is compressed once per encoding, not per view, and revalidates with
 * an ETag: a repeat view costs a 304 or a buffer write, never seconds of CPU.
 */
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMiscGateway, type MiscGateway } from './helpers/misc-gateway.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
}

/** GET with exact headers; the body comes back as sent (no decoding, unlike fetch). */
function get(base: string, path: string, headers: Record<string, string>): Promise<Raw> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const HTML = { accept: 'text/html,application/xhtml+xml' };

let gw: MiscGateway;
let br: Raw;
let page: string;
beforeAll(async () => {
  gw = await startMiscGateway();
  br = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'gzip, deflate, br' });
  page = brotliDecompressSync(br.body).toString('utf8');
}, 120_000);
afterAll(() => gw?.close());

describe('GraphiQL page: compressed once, validated by ETag', () => {
  it('the first view is the whole page, brotli-encoded, with validators', () => {
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/^text\/html/);
    expect(br.headers['cache-control']).toBe('no-cache');
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(br.headers.etag).toMatch(/^"[A-Za-z0-9_-]+-br"$/);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(page).toContain('Gateway GraphiQL');
    expect(page.length).toBeGreaterThan(1_000_000);
    expect(br.body.length).toBeLessThan(page.length / 3);
  });

  it('a second view has the same ETag and bytes, and is fast', async () => {
    const again = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'br' });
    expect(again.status).toBe(200);
    expect(again.headers.etag).toBe(br.headers.etag);
    expect(again.body.equals(br.body)).toBe(true);
    // The first view rendered and compressed 9 MB; a repeat only writes a kept buffer.
    expect(again.ms).toBeLessThan(Math.max(br.ms / 2, 50));
  });

  it('gzip and identity bodies are the same page under their own ETags', async () => {
    const gz = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'gzip' });
    const plain = await get(gw.url, '/graphql', HTML);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString('utf8')).toBe(page);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toBe(page);
    const tags = new Set([br.headers.etag, gz.headers.etag, plain.headers.etag]);
    expect(tags.size).toBe(3);
    const gz2 = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'gzip' });
    expect(gz2.headers.etag).toBe(gz.headers.etag);
    expect(gz2.body.equals(gz.body)).toBe(true);
  });

  it.each([
    ['the same ETag', (tag: string) => tag],
    ['its weak form', (tag: string) => `W/${tag}`],
    ['a list containing it', (tag: string) => `"nope", ${tag}`],
    ['the identity ETag of the same page', (tag: string) => tag.replace(/-br"$/, '"')],
    ['the gzip ETag of the same page', (tag: string) => tag.replace(/-br"$/, '-gzip"')],
    ['a star', () => '*'],
  ])('If-None-Match with %s: 304 without a body', async (_name, value) => {
    const res = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'br', 'if-none-match': value(String(br.headers.etag)) });
    expect(res.status).toBe(304);
    expect(res.body.length).toBe(0);
    expect(res.headers.etag).toBe(br.headers.etag);
  });

  it.each([
    ['another ETag', '"something-else"'],
    ['a prefix of the ETag', () => String(br.headers.etag).slice(0, 10) + '"'],
    ['an unquoted ETag', () => String(br.headers.etag).slice(1, -1)],
    ['an empty value', ''],
  ])('If-None-Match with %s: the full page', async (_name, value) => {
    const v = typeof value === 'function' ? value() : value;
    const res = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'br', 'if-none-match': v });
    expect(res.status).toBe(200);
    expect(res.body.equals(br.body)).toBe(true);
  });

  it('GraphQL over GET and POST are not affected', async () => {
    const viaGet = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ hello }')}`, { headers: { accept: 'application/json' } });
    expect((await viaGet.json()).data.hello).toBe('hello world');
    const viaPost = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello(name: \\"x\\") }"}' });
    expect((await viaPost.json()).data.hello).toBe('hello x');
  });

  it('graphql.graphiql: false serves no page', async () => {
    const off = await startMiscGateway((c) => (c.graphql = { graphiql: false }));
    try {
      const res = await get(off.url, '/graphql', HTML);
      expect(res.body.toString('utf8')).not.toContain('Gateway GraphiQL');
      expect(res.headers.etag).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});
