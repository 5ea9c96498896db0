/** Compression, the response cache and REST → gRPC translation on passthrough routes. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttpUpstream, sendJson, type DemoHttpServer } from '../src/demo/http-server.js';

let gw: TestGateway;
let origin: DemoHttpServer;
let hits = 0;

beforeAll(async () => {
  // An upstream whose answers the tests shape: cache headers, pre-encoded bodies, slow answers.
  origin = await startHttpUpstream(async (req, res, url) => {
    hits++;
    if (url.pathname === '/slow') await new Promise((r) => setTimeout(r, 100));
    if (url.pathname === '/no-store') res.setHeader('cache-control', 'no-store');
    if (url.pathname === '/private') res.setHeader('cache-control', 'private, max-age=60');
    if (url.pathname === '/encoded') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '4' });
      res.end(Buffer.from([1, 2, 3, 4]));
      return;
    }
    if (url.pathname === '/big') {
      sendJson(res, 200, { n: hits, filler: 'x'.repeat(4000) });
      return;
    }
    sendJson(res, 200, { path: url.pathname, n: hits, user: req.headers['x-user-id'] ?? null });
  });
  gw = await startTestGateway({
    configure(c) {
      c.upstreams.origin = { protocol: 'http', targets: [{ url: origin.url }] };
      c.routes = [
        { name: 'files', match: { pathPrefix: '/files' }, upstream: 'users', rewrite: { stripPrefix: '/files' } },
        { name: 'cached', match: { pathPrefix: '/cached' }, upstream: 'origin', rewrite: { stripPrefix: '/cached' }, cache: { ttlSec: 30 } },
        { name: 'plain', match: { pathPrefix: '/plain' }, upstream: 'origin', rewrite: { stripPrefix: '/plain' } },
        { name: 'products', match: { path: '/api/products', methods: ['GET', 'POST'] }, upstream: 'catalog', grpc: { method: 'catalog.v1.Catalog/GetProducts', repeated: ['ids'] } },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await origin.close();
});
beforeEach(() => {
  hits = 0;
  gw.demo.reset();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await request(`${gw.url}${path}`, { headers });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body };
}

describe('compression', () => {
  it('gzip and br for a compressible passthrough body over 1 KiB, with Vary: Accept-Encoding', async () => {
    const gz = await get('/files/download?bytes=5000&type=text/plain', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/Accept-Encoding/);
    expect(gunzipSync(gz.body).length).toBe(5000);
    const br = await get('/files/download?bytes=5000&type=application/json', { 'accept-encoding': 'gzip, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).length).toBe(5000);
  });

  it('leaves binary media, small bodies and already-encoded answers alone', async () => {
    const bin = await get('/files/download?bytes=5000', { 'accept-encoding': 'gzip' });
    expect(bin.headers['content-encoding']).toBeUndefined();
    expect(bin.body.length).toBe(5000);
    const small = await get('/files/users/1', { 'accept-encoding': 'gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
    const encoded = await get('/plain/encoded', { 'accept-encoding': 'gzip, br' });
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect([...encoded.body]).toEqual([1, 2, 3, 4]);
  });

  it('compresses GraphQL answers over 1 KiB', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => String(i + 1));
    const r = await request(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'br' },
      body: JSON.stringify({ query: 'query($ids: [ID!]!) { users(ids: $ids) { id name role } }', variables: { ids } }),
    });
    const raw = Buffer.from(await r.body.arrayBuffer());
    expect(r.headers['content-encoding']).toBe('br');
    expect(r.headers.vary).toMatch(/Accept-Encoding/);
    expect(JSON.parse(brotliDecompressSync(raw).toString()).data.users).toHaveLength(40);
  });
});

describe('response cache', () => {
  it('MISS then HIT with Age, one upstream call', async () => {
    const a = await get('/cached/thing?q=1');
    const b = await get('/cached/thing?q=1');
    expect(a.headers['x-cache']).toBe('MISS');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(b.headers.age).toBe('0');
    expect(JSON.parse(b.body.toString())).toEqual(JSON.parse(a.body.toString()));
    expect(hits).toBe(1);
    const other = await get('/cached/thing?q=2');
    expect(other.headers['x-cache']).toBe('MISS');
    expect(hits).toBe(2);
  });

  it('stores the upstream body, not one compressed for an earlier client', async () => {
    const gz = await get('/cached/big', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const plain = await get('/cached/big');
    expect(plain.headers['x-cache']).toBe('HIT');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString()).filler).toHaveLength(4000);
    const br = await get('/cached/big', { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.body).toString()).n).toBe(1);
    expect(hits).toBe(1);
  });

  it('keys on the normalised path: //cached//thing and /cached/./thing share the entry', async () => {
    const { rawRequest } = await import('./helpers/raw-http.js');
    await get('/cached/same');
    const b = await rawRequest(gw.url, '//cached//same');
    const c = await rawRequest(gw.url, '/cached/x/../same');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(c.headers['x-cache']).toBe('HIT');
    expect(hits).toBe(1);
  });

  it('never stores no-store or private answers', async () => {
    await get('/cached/no-store');
    const again = await get('/cached/no-store');
    expect(again.headers['x-cache']).toBe('MISS');
    await get('/cached/private');
    await get('/cached/private');
    expect(hits).toBe(4);
  });

  it('coalesces concurrent misses into one upstream call', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, () => get('/cached/slow')));
    expect(hits).toBe(1);
    expect(all.filter((r) => r.headers['x-cache'] === 'HIT')).toHaveLength(9);
    expect(new Set(all.map((r) => r.body.toString())).size).toBe(1);
  });

  it('only GET is cached', async () => {
    await request(`${gw.url}/cached/post`, { method: 'POST', body: '{}' }).then((r) => r.body.dump());
    await request(`${gw.url}/cached/post`, { method: 'POST', body: '{}' }).then((r) => r.body.dump());
    expect(hits).toBe(2);
  });
});

describe('REST → gRPC', () => {
  it('GET with a repeated query parameter calls the unary method and answers JSON', async () => {
    const r = await get('/api/products?ids=p1,p2');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const body = JSON.parse(r.body.toString());
    expect(body.products.map((p: { id: string }) => p.id)).toEqual(['p1', 'p2']);
    expect(body.products[0]).toHaveProperty('priceCents');
    const calls = gw.demo.catalog.recorder.calls;
    expect(calls).toHaveLength(1);
    expect((calls[0]!.request as { ids: string[] }).ids).toEqual(['p1', 'p2']);
  });

  it('POST maps a JSON body; bad JSON is a 400', async () => {
    const r = await request(`${gw.url}/api/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: ['p3'] }) });
    const body = (await r.body.json()) as { products: Array<{ id: string }> };
    expect(body.products.map((p) => p.id)).toEqual(['p3']);
    const bad = await request(`${gw.url}/api/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { code: string }).code).toBe('BAD_REQUEST');
  });

  it('a down gRPC upstream is 503 UPSTREAM_UNAVAILABLE', async () => {
    gw.demo.catalog.recorder.behaviour.failStatus = 14;
    const r = await get('/api/products?ids=p1');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
