/**
 * GraphiQL is a small page plus separate, cacheable asset files (src/graphql/graphiql-page.ts):
 * the page revalidates (no-cache + ETag), an asset asked for by its content hash is immutable,
 * and every body is compressed once per encoding, never per request.
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

/** One request with exact headers; the body comes back as sent (no decoding, unlike fetch). */
function send(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<Raw> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const get = (base: string, path: string, headers: Record<string, string>) => send(base, path, headers);

const HTML = { accept: 'text/html,application/xhtml+xml' };
const IMMUTABLE = 'public, max-age=31536000, immutable';

let gw: MiscGateway;
let pageRes: Raw;
let page: string;
/** Asset file name → path with its `?v=` hash, as the page references them. */
const refs = new Map<string, string>();
let js: Raw;
let jsText: string;

beforeAll(async () => {
  gw = await startMiscGateway();
  pageRes = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'gzip, deflate, br' });
  page = pageRes.headers['content-encoding'] === 'br' ? brotliDecompressSync(pageRes.body).toString('utf8') : pageRes.body.toString('utf8');
  for (const m of page.matchAll(/graphql\/graphiql\/([\w.]+)\?v=([\w-]+)/g)) refs.set(m[1]!, `/graphql/graphiql/${m[1]}?v=${m[2]}`);
  js = await get(gw.url, refs.get('graphiql.js')!, { 'accept-encoding': 'br' });
  jsText = brotliDecompressSync(js.body).toString('utf8');
}, 120_000);
afterAll(() => gw?.close());

describe('GraphiQL page', () => {
  it('is small, revalidated (no-cache + ETag), and references its assets by content hash', () => {
    expect(pageRes.status).toBe(200);
    expect(pageRes.headers['content-type']).toMatch(/^text\/html/);
    expect(pageRes.headers['cache-control']).toBe('no-cache');
    expect(pageRes.headers.etag).toMatch(/^"[A-Za-z0-9_-]+(-br|-gzip)?"$/);
    expect(page).toContain('Gateway GraphiQL');
    expect(page.length).toBeLessThan(8192);
    expect([...refs.keys()].sort()).toEqual(['editor.worker.js', 'favicon.ico', 'graphiql.css', 'graphiql.js', 'graphql.worker.js', 'json.worker.js']);
  });

  it('a matching If-None-Match gets a bodiless 304', async () => {
    const res = await get(gw.url, '/graphql', { ...HTML, 'accept-encoding': 'gzip, deflate, br', 'if-none-match': String(pageRes.headers.etag) });
    expect(res.status).toBe(304);
    expect(res.body.length).toBe(0);
  });

  it('graphql.graphiql: false serves neither the page nor its assets', async () => {
    const off = await startMiscGateway((c) => (c.graphql = { graphiql: false }));
    try {
      const res = await get(off.url, '/graphql', HTML);
      expect(res.body.toString('utf8')).not.toContain('Gateway GraphiQL');
      expect(res.headers.etag).toBeUndefined();
      expect((await get(off.url, refs.get('graphiql.js')!, {})).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('GraphiQL assets', () => {
  it('the script is the bundle, brotli-encoded once, immutable under its hash, with validators', () => {
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['content-encoding']).toBe('br');
    expect(js.headers['cache-control']).toBe(IMMUTABLE);
    expect(String(js.headers.vary)).toMatch(/accept-encoding/i);
    expect(js.headers.etag).toMatch(/^"[A-Za-z0-9_-]+-br"$/);
    expect(Number(js.headers['content-length'])).toBe(js.body.length);
    expect(jsText).toContain('renderYogaGraphiQL');
    expect(jsText.length).toBeGreaterThan(1_000_000);
    expect(js.body.length).toBeLessThan(jsText.length / 3);
  });

  it.each(['graphiql.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js'])('%s is served immutable under its hash', async (name) => {
    const res = await get(gw.url, refs.get(name)!, { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe(IMMUTABLE);
    expect(res.headers['content-type']).toMatch(name.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    expect(gunzipSync(res.body).length).toBeGreaterThan(10_000);
  });

  it('the favicon is an image, never compressed', async () => {
    const res = await get(gw.url, refs.get('favicon.ico')!, { 'accept-encoding': 'br, gzip' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^image\//);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.length).toBeGreaterThan(1000);
  });

  it('a second request has the same ETag and bytes, and is fast (nothing compressed again)', async () => {
    const again = await get(gw.url, refs.get('graphiql.js')!, { 'accept-encoding': 'br' });
    expect(again.status).toBe(200);
    expect(again.headers.etag).toBe(js.headers.etag);
    expect(again.body.equals(js.body)).toBe(true);
    expect(again.ms).toBeLessThan(Math.max(js.ms / 2, 50));
  });

  it('gzip and identity bodies are the same file under their own ETags', async () => {
    const path = refs.get('graphiql.js')!;
    const gz = await get(gw.url, path, { 'accept-encoding': 'gzip' });
    const plain = await get(gw.url, path, {});
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString('utf8')).toBe(jsText);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toBe(jsText);
    expect(new Set([js.headers.etag, gz.headers.etag, plain.headers.etag]).size).toBe(3);
  });

  it.each([
    ['no hash', (p: string) => p.replace(/\?v=.*$/, '')],
    ['another hash', (p: string) => p.replace(/\?v=.*$/, '?v=stale')],
  ])('with %s an asset is served but must be revalidated (no-cache)', async (_name, path) => {
    const res = await get(gw.url, path(refs.get('graphiql.css')!), {});
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.etag).toBeDefined();
  });

  it.each([
    ['the same ETag', (tag: string) => tag],
    ['its weak form', (tag: string) => `W/${tag}`],
    ['a list containing it', (tag: string) => `"nope", ${tag}`],
    ['the identity ETag of the same file', (tag: string) => tag.replace(/-br"$/, '"')],
    ['the gzip ETag of the same file', (tag: string) => tag.replace(/-br"$/, '-gzip"')],
    ['a star', () => '*'],
  ])('If-None-Match with %s: 304 without a body', async (_name, value) => {
    const res = await get(gw.url, refs.get('graphiql.js')!, { 'accept-encoding': 'br', 'if-none-match': value(String(js.headers.etag)) });
    expect(res.status).toBe(304);
    expect(res.body.length).toBe(0);
    expect(res.headers.etag).toBe(js.headers.etag);
  });

  it.each([
    ['another ETag', '"something-else"'],
    ['a prefix of the ETag', () => String(js.headers.etag).slice(0, 10) + '"'],
    ['an unquoted ETag', () => String(js.headers.etag).slice(1, -1)],
    ['an empty value', ''],
  ])('If-None-Match with %s: the whole file', async (_name, value) => {
    const v = typeof value === 'function' ? value() : value;
    const res = await get(gw.url, refs.get('graphiql.js')!, { 'accept-encoding': 'br', 'if-none-match': v });
    expect(res.status).toBe(200);
    expect(res.body.equals(js.body)).toBe(true);
  });

  it('HEAD has the headers without a body; other methods are 405 with Allow', async () => {
    const head = await send(gw.url, refs.get('graphiql.css')!, { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['cache-control']).toBe(IMMUTABLE);
    const post = await send(gw.url, refs.get('graphiql.css')!, {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.body.toString()).code).toBe('METHOD_NOT_ALLOWED');
  });

  it('GraphQL over GET and POST are not affected', async () => {
    const viaGet = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ hello }')}`, { headers: { accept: 'application/json' } });
    expect((await viaGet.json()).data.hello).toBe('hello world');
    const viaPost = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello(name: \\"x\\") }"}' });
    expect((await viaPost.json()).data.hello).toBe('hello x');
  });

  it('asset requests take no GraphQL rate-limit points', async () => {
    const limited = await startMiscGateway((c) => (c.rateLimit = { perClient: { points: 1, durationSec: 60 } }));
    try {
      for (let i = 0; i < 3; i++) for (const path of refs.values()) expect((await get(limited.url, path, {})).status).toBe(200);
      const gql = await fetch(`${limited.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello }"}' });
      expect(gql.status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
