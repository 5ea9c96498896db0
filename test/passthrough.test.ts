import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { rawRequest } from './helpers/raw-http.js';
import { startHttpUpstream, sendJson, type DemoHttpServer } from '../src/demo/http-server.js';

let gw: TestGateway;
let sink: DemoHttpServer;
/** Bodies the sink upstream received completely / saw cut off. */
const sinkSeen = { complete: 0, aborted: 0 };

beforeAll(async () => {
  sink = await startHttpUpstream(async (req, res) => {
    let bytes = 0;
    try {
      for await (const c of req) bytes += (c as Buffer).length;
    } catch {
      sinkSeen.aborted++;
      return;
    }
    if (req.readableAborted) sinkSeen.aborted++;
    else sinkSeen.complete++;
    sendJson(res, 200, { bytes });
  });
  gw = await startTestGateway({
    configure(c) {
      c.server.maxBodyBytes = 100_000;
      c.upstreams.sink = { protocol: 'http', targets: [{ url: sink.url }] };
      c.upstreams.down = { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }], timeoutMs: 500 };
      c.routes = [
        { name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET', 'POST'] }, upstream: 'users', rewrite: { stripPrefix: '/api' } },
        { name: 'users-v2', match: { pathPrefix: '/api/users', headers: { 'X-API-Version': 'v2' } }, upstream: 'users', rewrite: { stripPrefix: '/api', addPrefix: '/echo/v2' } },
        { name: 'users-eu', match: { pathPrefix: '/api/users', query: { region: 'eu' } }, upstream: 'users', rewrite: { stripPrefix: '/api', addPrefix: '/echo/eu' } },
        { name: 'user-seven', match: { path: '/api/users/7' }, upstream: 'users', rewrite: { regex: { pattern: '^/api/users/(\\d+)$', replacement: '/echo/exact/$1' } } },
        { name: 'longer', match: { pathPrefix: '/api/users/special' }, upstream: 'orders', rewrite: { regex: { pattern: '^/api/users/special(.*)$', replacement: '/echo/longer$1' } } },
        {
          name: 'echo',
          match: { pathPrefix: '/api/echo' },
          upstream: 'users',
          rewrite: { regex: { pattern: '^/api/echo(.*)$', replacement: '/echo$1' } },
          requestHeaders: { add: { 'X-Gateway': '1' }, remove: ['Cookie'] },
          responseHeaders: { add: { 'X-Served-By': 'gateway' }, remove: ['Content-Type'] },
        },
        { name: 'upload', match: { path: '/api/upload', methods: ['POST'] }, upstream: 'users', rewrite: { regex: { pattern: '.*', replacement: '/upload' } } },
        { name: 'json-only', match: { pathPrefix: '/api/json' }, upstream: 'users', contentTypes: ['application/json'], rewrite: { regex: { pattern: '^/api/json', replacement: '/echo' } } },
        { name: 'sink', match: { pathPrefix: '/api/sink' }, upstream: 'sink' },
        { name: 'down', match: { pathPrefix: '/api/down' }, upstream: 'down' },
        { name: 'slow', match: { pathPrefix: '/api/slow' }, upstream: 'orders', timeoutMs: 200, rewrite: { regex: { pattern: '^/api/slow', replacement: '/echo' } } },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await sink.close();
});
beforeEach(() => gw.demo.reset());

const json = (r: { body: string }) => JSON.parse(r.body);

describe('matching', () => {
  it('prefix on a segment boundary, rewritten with stripPrefix, query kept', async () => {
    const r = await fetch(`${gw.url}/api/users/1?x=1`);
    expect(r.status).toBe(200);
    expect((await r.json()).id).toBe('1');
    const call = gw.demo.users.recorder.calls.at(-1)!;
    expect(call.path).toBe('/users/1');
    expect(call.query.get('x')).toBe('1');
    const miss = await fetch(`${gw.url}/api/usersx/1`);
    expect(miss.status).toBe(404);
    const body = await miss.json();
    expect(body.code).toBe('NOT_FOUND');
    expect(body.requestId).toBe(miss.headers.get('x-request-id'));
  });

  it('exact path first, then the longest prefix', async () => {
    const exact = await rawRequest(gw.url, '/api/users/7');
    expect(json(exact).path).toBe('/echo/exact/7');
    const longer = await rawRequest(gw.url, '/api/users/special/1');
    expect(json(longer).path).toBe('/echo/longer/1');
    expect(gw.demo.orders.recorder.calls).toHaveLength(1);
  });

  it('header and query conditions select a route', async () => {
    const v2 = await rawRequest(gw.url, '/api/users/1', { headers: { 'X-API-Version': 'v2' } });
    expect(json(v2).path).toBe('/echo/v2/users/1');
    const eu = await rawRequest(gw.url, '/api/users/1?region=eu');
    expect(json(eu).path).toBe('/echo/eu/users/1');
    expect(json(eu).query).toEqual({ region: 'eu' });
  });

  it('405 with Allow when only the method differs', async () => {
    const r = await fetch(`${gw.url}/api/upload`, { method: 'GET' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect((await r.json()).code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('path escapes never leave the route prefix', () => {
  it.each([
    ['/api/users/../../echo/x', 404],
    ['/api/users/%2e%2e/%2E%2E/echo/x', 404],
    ['/api/users/.%2e/.%2e/echo', 404],
    ['/api/users/..%2f..%2fecho', 400],
    ['/api/users/..%2F..%2Fecho', 400],
    ['/api/users/%252e%252e/%252e%252e/echo', 400],
    ['/api/users/%25252e%25252e/echo', 400],
    ['/api/users/..%5c..%5cecho', 400],
    ['/api/users/..\\..\\echo', 400],
  ])('%s → %i and no upstream call', async (path, status) => {
    const r = await rawRequest(gw.url, path);
    expect(r.status).toBe(status);
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
    expect(gw.demo.orders.recorder.calls).toHaveLength(0);
  });

  it('doubled slashes and inner dot segments are normalised before forwarding', async () => {
    const r = await rawRequest(gw.url, '//api//users/./x/../1');
    expect(r.status).toBe(200);
    expect(gw.demo.users.recorder.calls.map((c) => c.path)).toEqual(['/users/1']);
  });

  it('a dot segment that stays inside the prefix is resolved', async () => {
    const r = await rawRequest(gw.url, '/api/echo/a/%2e%2e/b');
    expect(json(r).path).toBe('/echo/b');
  });
});

describe('headers', () => {
  it('drops hop-by-hop and client identity headers, sets forwarding, id and trace headers', async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await rawRequest(gw.url, '/api/echo/h', {
      headers: {
        Connection: 'keep-alive, X-Secret',
        'X-Secret': 'hush',
        'Keep-Alive': 'timeout=5',
        'Proxy-Authorization': 'Basic x',
        TE: 'trailers',
        'X-User-Id': 'admin',
        'X-User-Roles': 'admin',
        'X-Client-Id': 'evil',
        'X-Forwarded-For': '6.6.6.6',
        'X-Request-Id': 'req-123',
        Cookie: 'a=b',
        traceparent: `00-${trace}-00f067aa0ba902b7-01`,
        Host: 'shop.example.com',
      },
    });
    expect(r.status).toBe(200);
    const h = json(r).headers;
    for (const name of ['x-secret', 'keep-alive', 'proxy-authorization', 'te', 'x-user-id', 'x-user-roles', 'x-client-id', 'cookie']) {
      expect(h[name], name).toBeUndefined();
    }
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('shop.example.com');
    expect(h['x-request-id']).toBe('req-123');
    expect(h['x-gateway']).toBe('1');
    const [, traceId, spanId, flags] = h.traceparent.split('-');
    expect(traceId).toBe(trace);
    expect(spanId).not.toBe('00f067aa0ba902b7');
    expect(flags).toBe('01');
    expect(r.headers['x-served-by']).toBe('gateway');
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers['x-request-id']).toBe('req-123');
  });

  it('creates a traceparent when the client sent none (or an invalid one)', async () => {
    const r = await rawRequest(gw.url, '/api/echo/t', { headers: { traceparent: 'garbage' } });
    expect(json(r).headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe('bodies', () => {
  it('forwards a POST body', async () => {
    const r = await rawRequest(gw.url, '/api/echo/p', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(json(r).body).toBe('hello');
    expect(json(r).method).toBe('POST');
  });

  it('a client sending Expect: 100-continue still gets through', async () => {
    const r = await rawRequest(gw.url, '/api/echo/e', { method: 'POST', headers: { expect: '100-continue', 'content-length': '2' }, body: 'hi' });
    expect(r.status).toBe(200);
    expect(json(r).body).toBe('hi');
    expect(json(r).headers.expect).toBeUndefined();
  });

  it('413 for a declared length over maxBodyBytes, before the upstream', async () => {
    const r = await rawRequest(gw.url, '/api/upload', { method: 'POST', body: Buffer.alloc(100_001) });
    expect(r.status).toBe(413);
    expect(json(r).code).toBe('PAYLOAD_TOO_LARGE');
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
  });

  it('413 for a small chunked body over maxBodyBytes: the upstream is never called', async () => {
    // Chunked bodies are read whole up to a 64 KiB window before the upstream is called.
    const chunks = Array.from({ length: 7 }, () => Buffer.alloc(9_000, 'x'));
    const under = await rawRequest(gw.url, '/api/upload', { method: 'POST', body: chunks });
    expect(json(under).bytes).toBe(63_000);
    sink.recorder.reset();
    const over = await rawRequest(gw.url, '/api/sink/x', { method: 'POST', body: [Buffer.alloc(60_000), Buffer.alloc(60_000)] });
    expect(over.status).toBe(413);
    expect(json(over).code).toBe('PAYLOAD_TOO_LARGE');
    expect(sink.recorder.calls).toHaveLength(0);
  });

  it('413 for a long chunked body crossing maxBodyBytes while streaming: the upstream request is cut off, never completed', async () => {
    sinkSeen.complete = 0;
    sinkSeen.aborted = 0;
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(8_000, 'x'));
    const r = await rawRequest(gw.url, '/api/sink/up', { method: 'POST', body: chunks });
    expect(r.status).toBe(413);
    expect(json(r).code).toBe('PAYLOAD_TOO_LARGE');
    await new Promise((res) => setTimeout(res, 50));
    expect(sinkSeen.complete).toBe(0);
    const ok = await rawRequest(gw.url, '/api/sink/up', { method: 'POST', body: chunks.slice(0, 10) });
    expect(json(ok).bytes).toBe(80_000);
    expect(sinkSeen.complete).toBe(1);
  });

  it('a chunked body under the limit streams through', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(9_000, 'x'));
    const r = await rawRequest(gw.url, '/api/upload', { method: 'POST', body: chunks });
    expect(r.status).toBe(200);
    expect(json(r).bytes).toBe(90_000);
  });

  it('415 when the route restricts content types', async () => {
    const bad = await rawRequest(gw.url, '/api/json/x', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(bad.status).toBe(415);
    expect(json(bad).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const ok = await rawRequest(gw.url, '/api/json/x', { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' });
    expect(ok.status).toBe(200);
    expect(gw.demo.users.recorder.calls).toHaveLength(1);
  });
});

describe('upstream failures', () => {
  it('connection refused → 503 UPSTREAM_UNAVAILABLE', async () => {
    const r = await fetch(`${gw.url}/api/down/x`);
    expect(r.status).toBe(503);
    expect((await r.json()).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('slower than the route timeout → 504 UPSTREAM_TIMEOUT', async () => {
    gw.demo.orders.recorder.behaviour.delayMs = 1000;
    const r = await fetch(`${gw.url}/api/slow/x`);
    expect(r.status).toBe(504);
    expect((await r.json()).code).toBe('UPSTREAM_TIMEOUT');
  });
});

describe('identity headers', () => {
  it('verified identity replaces whatever the client sent', async () => {
    const { createServer } = await import('node:http');
    const { RequestContext } = await import('../src/context.js');
    const { upstreamRequestHeaders } = await import('../src/proxy/forward-headers.js');
    const { compileRoute } = await import('../src/proxy/route-table.js');
    const route = compileRoute(gw.gateway.config.routes[0]!);
    const server = createServer((req, res) => {
      const ctx = new RequestContext(req, res, 0);
      ctx.id = 'rid';
      ctx.ip = '127.0.0.1';
      ctx.identity = { kind: 'jwt', subject: 'u-42', roles: ['admin', 'ops'], clientId: 'u-42', claims: {} };
      res.end(JSON.stringify(upstreamRequestHeaders(ctx, route, { trustProxy: false })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const r = await rawRequest(`http://127.0.0.1:${port}`, '/x', { headers: { 'X-User-Id': 'admin', 'X-User-Roles': 'root', 'X-Client-Id': 'evil' } });
    server.close();
    const h = json(r);
    expect(h['x-user-id']).toBe('u-42');
    expect(h['x-user-roles']).toBe('admin,ops');
    expect(h['x-client-id']).toBe('u-42');
  });
});

describe('malformed requests are refused by the server', () => {
  async function rawSocket(head: string): Promise<string> {
    const { connect } = await import('node:net');
    const url = new URL(gw.url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => s.write(head));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  }

  it('a header value with a bare CR or LF injection is 400, nothing reaches the upstream', async () => {
    const out = await rawSocket('GET /api/users/1 HTTP/1.1\r\nHost: x\r\nX-Evil: a\rInjected: b\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
  });

  it('an oversized header block is 431', async () => {
    const out = await rawSocket(`GET /api/users/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431/);
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
  });
});
