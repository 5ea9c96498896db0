/**
 * What a passthrough request's header handling costs: `upstreamRequestHeaders` for a typical
 * 6-header browser GET on a route with request header operations (remove, rename, add), and
 * `clientResponseHeaders` for a typical 8-header upstream answer. Five runs; the median is
 * reported, in process CPU time and wall time per call.
 * `node bin/tsx.js bench/forward-headers.ts [iterations]`
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../src/context.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../src/proxy/forward-headers.js';
import { compileRoute } from '../src/proxy/route-table.js';
import type { RouteConfig } from '../src/config/schema.js';

const n = Number(process.argv[2] ?? 200_000);

const route = compileRoute({
  name: 'orders',
  match: { pathPrefix: '/api/orders', headers: {}, query: {} },
  auth: 'none',
  roles: [],
  upstream: 'orders',
  requestHeaders: { add: { 'X-Gateway': '1' }, remove: ['Cookie'], rename: { 'X-Tenant': 'X-Org' } },
  responseHeaders: { add: { 'X-Served-By': 'gateway' }, remove: ['Server'], rename: {} },
} as unknown as RouteConfig);

const requestHeaders = {
  host: 'gw.example.test',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-GB,en;q=0.5',
  connection: 'keep-alive',
};
const responseHeaders = {
  'content-type': 'application/json',
  'content-length': '512',
  date: 'Thu, 03 Dec 2026 08:00:00 GMT',
  server: 'orders/1.0',
  'cache-control': 'no-store',
  etag: '"abc"',
  vary: 'accept-encoding',
  connection: 'keep-alive',
};

const req = { method: 'GET', url: '/api/orders/42', headers: requestHeaders, socket: {} } as unknown as IncomingMessage;
const ctx = new RequestContext(req, {} as ServerResponse, 0);
ctx.id = 'req-1';
ctx.ip = '203.0.113.7';
ctx.forwarded = { hops: ['203.0.113.7'], peerTrusted: false };

function run(label: string, fn: () => unknown): void {
  for (let i = 0; i < 20_000; i++) fn();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const t1 = process.hrtime.bigint();
    const c = process.cpuUsage(c0);
    wall.push(Number(t1 - t0) / n);
    cpu.push(((c.user + c.system) * 1000) / n);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
  console.log(`${label}: ${median(cpu).toFixed(0)} ns CPU, ${median(wall).toFixed(0)} ns wall per call (median of 5 × ${n})`);
}

run('request headers, 6-header GET', () => upstreamRequestHeaders(ctx, route));
run('response headers, 8 headers', () => clientResponseHeaders(responseHeaders, route.responseHeaders, ctx, route, 200));
