/**
 * Route transformations (issue #21): header add/remove/rename with templates, query operations,
 * and JSONata body mapping both ways, against a real gateway and a real upstream that records
 * what it received. Plus the rules: what passes through untouched, and what the config refuses.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { startTestGateway, configFrom, baseConfig, type TestGateway } from './helpers/gateway.js';
import { runCli } from './helpers/cli.js';
import { startHttpUpstream, sendJson, type DemoHttpServer } from './fixtures/domain/index.js';
import { ConfigError } from '../src/config/load.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let gw: TestGateway;
let origin: DemoHttpServer;
let seen: Seen[] = [];
const last = (): Seen => seen[seen.length - 1]!;

/** v1 users as a legacy backend keeps them. */
const v1Users = new Map<string, { id: string; full_name: string; mail: string }>([
  ['7', { id: '7', full_name: 'Ada Lovelace', mail: 'ada@example.com' }],
  ['long', { id: 'long', full_name: `${'L'.repeat(700)} ${'M'.repeat(700)}`, mail: 'long@example.com' }],
]);

beforeAll(async () => {
  origin = await startHttpUpstream(async (req, res, url) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const p = url.pathname;
    if (p === '/v1/users' && req.method === 'POST') {
      const v1 = JSON.parse(body) as { full_name: string; mail: string };
      const user = { id: String(v1Users.size + 7), ...v1 };
      v1Users.set(user.id, user);
      res.setHeader('etag', '"v1-etag"');
      res.setHeader('content-md5', 'bogus==');
      sendJson(res, 201, user);
      return;
    }
    const m = /^\/v1\/users\/(\w+)$/.exec(p);
    if (m) {
      const u = v1Users.get(m[1]!);
      res.setHeader('etag', '"v1-etag"');
      if (u) sendJson(res, 200, u);
      else sendJson(res, 404, { error: 'no such user' });
      return;
    }
    if (p === '/v1/text') {
      res.writeHead(200, { 'content-type': 'text/plain', etag: '"t"' });
      res.end('full_name=plain text');
      return;
    }
    if (p === '/v1/big') {
      sendJson(res, 200, { full_name: 'x'.repeat(4000), mail: 'big@example.com' });
      return;
    }
    if (p === '/v1/chunked-big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"full_name":"${'y'.repeat(3000)}`);
      res.end('","mail":"c@example.com"}');
      return;
    }
    if (p === '/v1/gzip') {
      const z = gzipSync(JSON.stringify({ full_name: 'Zipped Person', mail: 'z@example.com' }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': z.length });
      res.end(z);
      return;
    }
    if (p === '/v1/negotiated') {
      // Compresses when asked, as most backends do: the mapping must still see the answer.
      const json = JSON.stringify({ full_name: 'Neg Otiated', mail: 'n@example.com', secret: 'do-not-leak' });
      if (/gzip/.test(String(req.headers['accept-encoding'] ?? ''))) {
        const z = gzipSync(json);
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': z.length });
        res.end(z);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(json);
      }
      return;
    }
    if (p === '/v1/not-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{ not json');
      return;
    }
    if (p === '/spelled') {
      res.setHeader('x.internal', 'secret');
      res.setHeader('x_internal', 'secret');
      res.setHeader('x-other_thing', 'kept');
    }
    res.setHeader('x-backend', 'legacy-1');
    res.setHeader('x-internal', 'secret');
    sendJson(res, 200, { ok: true });
  });
  const v2 = {
    request: { body: '{ "full_name": firstName & " " & lastName, "mail": email }' },
    response: { body: '$status < 300 ? { "id": id, "firstName": $substringBefore(full_name, " "), "lastName": $substringAfter(full_name, " "), "email": mail } : { "error": { "status": $status, "message": error } }' },
    maxBodyBytes: 2048,
  };
  gw = await startTestGateway({
    configure(c) {
      c.upstreams.origin = { protocol: 'http', targets: [{ url: origin.url }] };
      c.routes = [
        {
          name: 'ops',
          match: { pathPrefix: '/ops' },
          upstream: 'origin',
          rewrite: { stripPrefix: '/ops' },
          requestHeaders: {
            add: { 'X-Api-Version': '1', 'X-Trace-Copy': 'rid=${request.id}', 'X-Tenant-Seen': '${request.header.x-tenant}' },
            remove: ['X-Debug'],
            rename: { 'X-Tenant': 'X-Org' },
          },
          responseHeaders: {
            add: { 'X-Gateway-Latency': '${request.latencyMs}', 'X-Upstream': '${upstream.name} ${upstream.status}', 'X-Route': '${route.name} ${request.method} ${request.path}' },
            remove: ['X-Internal'],
            rename: { 'X-Backend': 'X-Served-By' },
          },
          transform: { request: { query: { add: { version: '1' }, remove: ['debug'], rename: { q: 'search' } } } },
        },
        { name: 'v2-users', match: { pathPrefix: '/v2/users' }, upstream: 'origin', rewrite: { regex: { pattern: '^/v2/users', replacement: '/v1/users' } }, transform: v2 },
        { name: 'v2-misc', match: { pathPrefix: '/v2' }, upstream: 'origin', rewrite: { regex: { pattern: '^/v2', replacement: '/v1' } }, transform: v2 },
        {
          name: 'v2-pass',
          match: { pathPrefix: '/pass/v2' },
          upstream: 'origin',
          rewrite: { regex: { pattern: '^/pass/v2', replacement: '/v1' } },
          transform: { ...v2, request: { ...v2.request, onUnmappable: 'pass' }, response: { ...v2.response, onUnmappable: 'pass' } },
        },
        {
          name: 'runaway',
          match: { pathPrefix: '/runaway' },
          upstream: 'origin',
          rewrite: { regex: { pattern: '^/runaway', replacement: '/v1/users' } },
          transform: { response: { body: '$sum($map([1..900000], function($v) { $v * 2 }))' }, timeoutMs: 20 },
        },
        {
          name: 'recursive',
          match: { pathPrefix: '/recursive' },
          upstream: 'origin',
          rewrite: { regex: { pattern: '^/recursive', replacement: '/v1/users' } },
          transform: { response: { body: '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))' } },
        },
        {
          name: 'bindings',
          match: { pathPrefix: '/bindings' },
          upstream: 'origin',
          rewrite: { regex: { pattern: '^/bindings', replacement: '/echo' } },
          transform: { request: { body: '{ "body": $, "q": $request.query.q, "tenant": $request.headers."x-tenant", "spoofed": $request.headers."x-user-id", "who": $request.identity }' } },
        },
        { name: 'plain', match: { pathPrefix: '/plain' }, upstream: 'origin', rewrite: { stripPrefix: '/plain' } },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await origin.close();
});
beforeEach(() => {
  seen = [];
});

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}) {
  const r = await request(`${gw.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) as any };
}

describe('request headers: remove, rename, add (with templates)', () => {
  it('the upstream receives the renamed, added and rendered headers and not the removed one', async () => {
    const r = await call('/ops/anything', { headers: { 'x-tenant': 'acme', 'x-debug': '1', 'x-request-id': 'client-rid-1', 'x-keep': 'k' } });
    expect(r.status).toBe(200);
    const h = last().headers;
    expect(h['x-org']).toBe('acme');
    expect(h['x-tenant']).toBeUndefined();
    expect(h['x-debug']).toBeUndefined();
    expect(h['x-api-version']).toBe('1');
    expect(h['x-trace-copy']).toBe('rid=client-rid-1');
    expect(h['x-tenant-seen']).toBe('acme');
    expect(h['x-keep']).toBe('k');
  });

  it('a renamed header wins over one the client sent under the new name; absent source leaves it alone', async () => {
    await call('/ops/a', { headers: { 'x-tenant': 'real', 'x-org': 'forged' } });
    expect(last().headers['x-org']).toBe('real');
    await call('/ops/a', { headers: { 'x-org': 'only-this' } });
    expect(last().headers['x-org']).toBe('only-this');
    expect(last().headers['x-tenant-seen']).toBe('');
  });
});

describe('other spellings of the names an operation touches', () => {
  it('the client cannot smuggle a header past remove/add/rename with `_`, `.` or case', async () => {
    await call('/ops/a', { headers: { 'x_api_version': 'evil', 'X.Debug': '1', 'x_debug': '1', 'x_org': 'forged', 'x.tenant': 'sneaky', 'x-keep_me': 'k' } });
    const h = last().headers;
    expect(h['x-api-version']).toBe('1');
    for (const name of ['x_api_version', 'x.debug', 'x_debug', 'x_org', 'x.tenant']) expect(h[name], name).toBeUndefined();
    expect(h['x-keep_me']).toBe('k');
  });

  it('an upstream header spelled x.internal is removed from the answer like X-Internal', async () => {
    const r = await call('/ops/spelled');
    expect(r.headers['x.internal']).toBeUndefined();
    expect(r.headers['x_internal']).toBeUndefined();
    expect(r.headers['x-other_thing']).toBe('kept');
  });

  it('query names are compared without regard to case', async () => {
    await call('/ops/list?VERSION=9&Debug=1&DEBUG=2&Q=term&keep=1');
    const url = new URL(last().url, 'http://x');
    expect([...url.searchParams.keys()].map((k) => k.toLowerCase()).sort()).toEqual(['keep', 'search', 'version']);
    expect(url.searchParams.getAll('version')).toEqual(['1']);
    expect(url.searchParams.get('search')).toBe('term');
  });
});

describe('response headers with values from the request', () => {
  it('latency, upstream, status and route are rendered; rename and remove apply', async () => {
    const r = await call('/ops/thing', { headers: { 'x-request-id': 'rid-77' } });
    expect(r.headers['x-upstream']).toBe('origin 200');
    expect(r.headers['x-route']).toBe('ops GET /ops/thing');
    const latency = Number(r.headers['x-gateway-latency']);
    expect(Number.isFinite(latency)).toBe(true);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(5000);
    expect(r.headers['x-served-by']).toBe('legacy-1');
    expect(r.headers['x-backend']).toBeUndefined();
    expect(r.headers['x-internal']).toBeUndefined();
    expect(r.headers['x-request-id']).toBe('rid-77');
  });

  it('a route without operations passes the upstream headers as they are', async () => {
    const r = await call('/plain/thing');
    expect(r.headers['x-backend']).toBe('legacy-1');
    expect(r.headers['x-internal']).toBe('secret');
    expect(r.headers['x-gateway-latency']).toBeUndefined();
  });
});

describe('query parameters: remove, rename, add', () => {
  it('operations apply and untouched parameters keep their exact bytes', async () => {
    await call('/ops/list?q=a%20b&debug=1&keep=x+y&version=9&z=%7e');
    const url = new URL(last().url, 'http://x');
    expect(url.searchParams.get('search')).toBe('a b');
    expect(url.searchParams.has('q')).toBe(false);
    expect(url.searchParams.has('debug')).toBe(false);
    expect(url.searchParams.getAll('version')).toEqual(['1']);
    expect(last().url).toContain('keep=x+y');
    expect(last().url).toContain('z=%7e');
  });

  it('an empty query gets the added parameter; a route without ops forwards the raw query', async () => {
    await call('/ops/list');
    expect(last().url).toBe('/list?version=1');
    await call('/plain/list?q=1&debug=2');
    expect(last().url).toBe('/list?q=1&debug=2');
  });
});

describe('JSON body mapping: a v2 client in front of a v1 backend', () => {
  it('POST v2 → v1 upstream → v2 answer, with a fresh Content-Length and no stale validators', async () => {
    const r = await call('/v2/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-md5': 'stale==' },
      body: JSON.stringify({ firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' }),
    });
    expect(JSON.parse(last().body)).toEqual({ full_name: 'Grace Hopper', mail: 'grace@example.com' });
    expect(Number(last().headers['content-length'])).toBe(Buffer.byteLength(last().body));
    expect(last().headers['content-md5']).toBeUndefined();
    expect(r.status).toBe(201);
    expect(r.json()).toEqual({ id: expect.any(String), firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' });
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.text));
    expect(r.headers.etag).toBeUndefined();
    expect(r.headers['content-md5']).toBeUndefined();
    const back = await call(`/v2/users/${r.json().id}`);
    expect(back.json()).toEqual(r.json());
  });

  it('GET maps the answer; error answers see $status', async () => {
    const ok = await call('/v2/users/7');
    expect(ok.json()).toEqual({ id: '7', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
    const missing = await call('/v2/users/404');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: { status: 404, message: 'no such user' } });
  });

  it('a mapped answer over 1 KiB is compressed afterwards when the client asks', async () => {
    const r = await request(`${gw.url}/v2/users/long`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.headers['content-encoding']).toBe('gzip');
    const mapped = JSON.parse(gunzipSync(Buffer.from(await r.body.arrayBuffer())).toString('utf8'));
    expect(mapped).toEqual({ id: 'long', firstName: 'L'.repeat(700), lastName: 'M'.repeat(700), email: 'long@example.com' });
  });

  it('a request body that is not JSON under a JSON content type is a 400 and reaches no upstream', async () => {
    const r = await call('/v2/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(r.status).toBe(400);
    expect(r.json().code).toBe('BAD_REQUEST');
    expect(seen).toHaveLength(0);
  });

  it('the request expression sees the query and headers, never a client-sent gateway-owned header', async () => {
    // The upstream's /echo answers with what it received.
    const r = await call('/bindings?q=find', { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant': 'acme', 'x-user-id': 'admin' }, body: '[1,2]' });
    expect(JSON.parse(r.json().body)).toEqual({ body: [1, 2], q: 'find', tenant: 'acme', who: null });
  });
});

describe('a mapping the client cannot skip', () => {
  it('the upstream is asked for identity, so an answer it would compress is still mapped', async () => {
    const r = await request(`${gw.url}/v2/negotiated`, { headers: { 'accept-encoding': 'gzip' } });
    const raw = Buffer.from(await r.body.arrayBuffer());
    const text = r.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    expect(last().headers['accept-encoding']).toBe('identity');
    expect(text).not.toContain('do-not-leak');
    expect(JSON.parse(text)).toEqual({ firstName: 'Neg', lastName: 'Otiated', email: 'n@example.com' });
  });

  it('a route without a response mapping forwards the client Accept-Encoding', async () => {
    await request(`${gw.url}/plain/x`, { headers: { 'accept-encoding': 'gzip' } }).then((r) => r.body.text());
    expect(last().headers['accept-encoding']).toBe('gzip');
  });

  it('a non-JSON request body is refused with 415 and reaches no upstream', async () => {
    const r = await call('/v2/users', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'firstName=A' });
    expect(r.status).toBe(415);
    expect(r.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(r.json().error).toContain('maps JSON request bodies only');
    expect(seen).toHaveLength(0);
  });

  it('a compressed request body is refused with 415', async () => {
    const z = gzipSync(JSON.stringify({ firstName: 'A', lastName: 'B', email: 'e', secret: 1 }));
    const r = await call('/v2/users', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: z });
    expect(r.status).toBe(415);
    expect(r.json().error).toContain('Content-Encoding gzip');
    expect(seen).toHaveLength(0);
  });

  it('a request body over maxBodyBytes is refused with 413, declared or chunked', async () => {
    const big = JSON.stringify({ firstName: 'B'.repeat(3000), lastName: 'C', email: 'e' });
    const declared = await call('/v2/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json().code).toBe('PAYLOAD_TOO_LARGE');
    const chunked = await request(`${gw.url}/v2/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(big.slice(0, 1500)), Buffer.from(big.slice(1500))]) });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.text();
    expect(seen).toHaveLength(0);
  });
});

describe('what passes through untouched', () => {
  it('with onUnmappable: pass, a non-JSON, compressed or large request body is forwarded as sent', async () => {
    await call('/pass/v2/users', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'firstName=A' });
    expect(last().body).toBe('firstName=A');
    const big = JSON.stringify({ firstName: 'B'.repeat(3000), lastName: 'C', email: 'e' });
    await call('/pass/v2/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(last().body).toBe(big);
  });

  it('a non-JSON answer', async () => {
    const r = await call('/v2/text');
    expect(r.text).toBe('full_name=plain text');
    expect(r.headers.etag).toBe('"t"');
  });

  it('HEAD keeps the upstream head as it is (nothing to map)', async () => {
    const get = await request(`${gw.url}/plain/v1/users/7`);
    const original = await get.body.text();
    const head = await request(`${gw.url}/v2/users/7`, { method: 'HEAD' });
    await head.body.text();
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe('"v1-etag"');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(original));
  });

  it('with response onUnmappable: pass, a JSON answer over maxBodyBytes (declared or chunked) streams through byte for byte', async () => {
    const declared = await call('/pass/v2/big');
    expect(declared.json().full_name).toHaveLength(4000);
    expect(declared.json().mail).toBe('big@example.com');
    const chunked = await call('/pass/v2/chunked-big');
    expect(chunked.json()).toEqual({ full_name: 'y'.repeat(3000), mail: 'c@example.com' });
  });

  it('with response onUnmappable: pass, a compressed answer and one that does not parse are passed on as they are', async () => {
    const z = await request(`${gw.url}/pass/v2/gzip`);
    expect(z.headers['content-encoding']).toBe('gzip');
    const raw = Buffer.from(await z.body.arrayBuffer());
    expect(raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const bad = await call('/pass/v2/not-json');
    expect(bad.status).toBe(200);
    expect(bad.text).toBe('{ not json');
  });
});

describe('a JSON answer the route cannot map is refused by default (the mapping may be what hides a field)', () => {
  it.each(['/v2/big', '/v2/chunked-big', '/v2/gzip', '/v2/not-json'])('%s → 502 TRANSFORM_FAILED, nothing of the body', async (path) => {
    const r = await call(path);
    expect(r.status).toBe(502);
    expect(r.json().code).toBe('TRANSFORM_FAILED');
    expect(r.text).not.toMatch(/big@example|c@example|Zipped|not json/);
  });

  it('a Range request cannot ask for a part of the unmapped answer: Range and If-Range are not forwarded', async () => {
    const r = await call('/v2/users/7', { headers: { range: 'bytes=0-10', 'if-range': '"v1-etag"' } });
    expect(r.status).toBe(200);
    expect(last().headers.range).toBeUndefined();
    expect(last().headers['if-range']).toBeUndefined();
  });
});

describe('evaluation is bounded', () => {
  it('a long-running expression stops at timeoutMs with 502 TRANSFORM_FAILED', async () => {
    const t0 = performance.now();
    const r = await call('/runaway/7');
    expect(r.status).toBe(502);
    expect(r.json().code).toBe('TRANSFORM_FAILED');
    expect(r.json().error).toContain('D1012');
    expect(performance.now() - t0).toBeLessThan(3000);
    // the gateway still serves
    expect((await call('/v2/users/7')).status).toBe(200);
  });

  it('runaway recursion hits the depth guard, not the process stack', async () => {
    const r = await call('/recursive/7');
    expect(r.status).toBe(502);
    expect(r.json().error).toMatch(/D1011|D1012/);
  });
});

describe('config check', () => {
  const withRoute = (route: Record<string, unknown>) => {
    const c = baseConfig();
    c.routes = [{ name: 'r', match: { pathPrefix: '/r' }, upstream: 'users', ...route }];
    return c;
  };
  const problems = (route: Record<string, unknown>): string[] => {
    try {
      configFrom(withRoute(route));
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('a JSONata syntax error is reported at its key path, with the other problems of the file', () => {
    const p = problems({ transform: { request: { body: '{ "a": ' }, response: { body: '$map(' } }, timeoutMs: 'slow' });
    expect(p.some((x) => x.startsWith('routes[0].transform.request.body: invalid JSONata expression'))).toBe(true);
    expect(p.some((x) => x.startsWith('routes[0].transform.response.body: invalid JSONata expression'))).toBe(true);
    expect(p.some((x) => x.startsWith('routes[0].timeoutMs'))).toBe(true);
  });

  it('gateway-owned and hop-by-hop headers can be neither set nor renamed, in any spelling', () => {
    const p = problems({
      requestHeaders: { add: { 'X-User-Id': 'admin', Connection: 'close' }, rename: { 'X-Api-Sub': 'x_user_roles', Authorization: 'X-Real-IP' } },
      responseHeaders: { add: { 'Content-Length': '1' }, rename: { 'X-Request-Id': 'X-Old-Id' } },
    });
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-User-Id: X-User-Id cannot be set/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.Connection: .*hop-by-hop/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.rename\.X-Api-Sub: x_user_roles cannot be written/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.rename\.Authorization: X-Real-IP cannot be written/),
      expect.stringMatching(/^routes\[0\]\.responseHeaders\.add\.Content-Length: /),
      expect.stringMatching(/^routes\[0\]\.responseHeaders\.rename\.X-Request-Id: X-Request-Id cannot be renamed/),
    ]));
    expect(p).toHaveLength(6);
  });

  it('bad header names, unknown template variables and transform on a gRPC route are refused', () => {
    const p = problems({ requestHeaders: { add: { 'Bad Name': 'x', 'X-A': '${request.nope}', 'X-B': '${upstream.status}', 'X-Legacy-User': '${request.header.X_User_Id}' } } });
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.Bad Name: "Bad Name" must be a header name/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-A: unknown variable \$\{request\.nope\}/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-B: .*only known on the response side/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-Legacy-User: .*the client's X_User_Id is never forwarded/),
    ]));
    const c = baseConfig();
    c.routes = [{ name: 'g', match: { path: '/g' }, upstream: 'catalog', grpc: { method: 'catalog.v1.Catalog/GetProducts' }, transform: { response: { body: 'products' } } }];
    expect(() => configFrom(c)).toThrow(/routes\[0\]\.transform: transform is for HTTP routes/);
  });

  it('a cached route may not put per-request values in response headers (a hit would replay them)', () => {
    const p = problems({ cache: { ttlSec: 5 }, responseHeaders: { add: { 'X-Rid': '${request.id}', 'X-Up': '${upstream.name}' } } });
    expect(p).toEqual([expect.stringMatching(/^routes\[0\]\.responseHeaders\.add\.X-Rid: a route with cache replays stored headers/)]);
  });

  it('a cached route may not let the client\'s request shape what is stored (cache poisoning)', () => {
    const p = problems({
      cache: { ttlSec: 5 },
      requestHeaders: { add: { 'X-Lang': '${request.header.accept-language}', 'X-Fixed': 'v1', 'X-Route': '${route.name}' }, rename: { 'X-Tenant': 'X-Org' } },
      transform: { response: { body: '{ "who": $request.headers."x-tenant" }' } },
    });
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-Lang: a route with cache .*\$\{request\.header/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.rename\.X-Tenant: a route with cache .*X-Tenant/),
      expect.stringMatching(/^routes\[0\]\.transform\.response\.body: a route with cache .*\$request/),
    ]));
    expect(p).toHaveLength(3);
    expect(problems({ cache: { ttlSec: 5 }, transform: { response: { body: '$eval("$" & "request")' } } })).toEqual([expect.stringMatching(/^routes\[0\]\.transform\.response\.body: .*\$eval/)]);
    // '$request' inside a string literal is not a read; and without cache all of it is fine.
    expect(problems({ cache: { ttlSec: 5 }, transform: { response: { body: '{ "note": "$request", "v": version }' } } })).toEqual([]);
    expect(problems({ requestHeaders: { add: { 'X-Lang': '${request.header.accept-language}' }, rename: { 'X-Tenant': 'X-Org' } }, transform: { response: { body: '$request.id' } } })).toEqual([]);
  });

  it('a cached route may not send the client\'s address or id upstream in a header (the answer would be one client\'s)', () => {
    expect(problems({ cache: { ttlSec: 5 }, requestHeaders: { add: { 'X-Ip': '${client.ip}', 'X-Who': 'id=${client.id}', 'X-Rid': '${request.id}' } } })).toEqual([
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-Ip: a route with cache .*\$\{client\.ip\}/),
      expect.stringMatching(/^routes\[0\]\.requestHeaders\.add\.X-Who: a route with cache /),
    ]);
    expect(problems({ requestHeaders: { add: { 'X-Ip': '${client.ip}' } } })).toEqual([]);
  });

  it('`gateway config check` names the key path of a bad expression, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-transform-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'upstreams:',
      '  u: { targets: [ { url: "http://127.0.0.1:1" } ] }',
      'routes:',
      '  - name: v2',
      '    match: { pathPrefix: /v2 }',
      '    upstream: u',
      '    transform:',
      '      response:',
      '        body: "{ \\"a\\": [1, 2 }"',
      '',
    ].join('\n'));
    const r = await runCli(['config', 'check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/routes\[0\]\.transform\.response\.body: invalid JSONata expression: .*\(line 9\)/);
  }, 30_000);
});
