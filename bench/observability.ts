/**
 * What observability costs per request: throughput and latency with tracing off vs on
 * (OTLP/HTTP to a sink process that accepts and drops every export), and the metrics
 * plugin's per-request bookkeeping measured alone (metrics cannot be switched off).
 *
 *   node bin/tsx.js bench/observability.ts [--seconds 5] [--connections 20] [--rounds 2]
 *
 * Off and on runs alternate `rounds` times and the best of each is kept.
 *
 * Scenarios: a GraphQL query fanning out to users, orders (HTTP) and catalog (gRPC), and a
 * passthrough GET. The access log is off so that stdout does not dominate.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/index.js';
import { RequestContext } from '../src/context.js';
import { useMetrics } from '../src/plugins/use-metrics.js';
import { GatewayEvents } from '../src/telemetry/events.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startDemoUpstreams } from '../upstreams/shop-demo.js';
import { autocannon, numberArg, type CannonRaw } from './harness.js';


const seconds = numberArg('seconds', 5);
const connections = numberArg('connections', 20);
const logger = createLogger({ level: 'silent' });
const QUERY = JSON.stringify({ query: '{ user(id: "1") { name orders { id items { quantity product { name } } } } }' });

// The OTLP sink runs in its own process, so receiving spans does not eat the gateway's CPU.
const SINK = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end('{}')); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
const sink = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkPort = await new Promise<string>((resolve) => sink.stdout.once('data', (d: Buffer) => resolve(String(d).trim())));
const sinkUrl = `http://127.0.0.1:${sinkPort}`;

async function run(tracing: boolean) {
  if (tracing) Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_EXPORTER_OTLP_PROTOCOL: process.env.BENCH_OTLP_PROTOCOL ?? 'http/protobuf' });
  else delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const demo = await startDemoUpstreams();
  const raw = {
    server: { port: 0, host: '127.0.0.1' },
    logging: { level: 'silent', accessLog: false },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] },
      orders: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] },
      catalog: { protocol: 'grpc', targets: [{ url: '127.0.0.1:1' }], idempotentMethods: ['GetProducts'] },
    },
    routes: [{ name: 'users-api', match: { pathPrefix: '/users' }, upstream: 'users' }],
  };
  const gw = await startGateway({ config: parseConfig(stringify(raw), {}), demoTargets: demo.targets, port: 0, host: '127.0.0.1', logger });
  const out: Record<string, CannonRaw> = {};
  out.graphql = await autocannon({ url: `${gw.url}/graphql`, method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY, connections, duration: seconds });
  out.passthrough = await autocannon({ url: `${gw.url}/users/1`, connections, duration: seconds });
  await gw.close();
  await demo.close();
  return out;
}

/** ns per request for the metrics plugin's onRequest + onDone, on a finished response. */
function metricsHookCost(n = 200_000): number {
  const plugin = useMetrics({ events: new GatewayEvents(), upstreams: ['users'], logger });
  const req = { method: 'POST', url: '/graphql', headers: {}, socket: {} } as never;
  const res = { statusCode: 200, writableFinished: true, getHeader: () => undefined } as never;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const ctx = new RequestContext(req, res, performance.now());
    ctx.routeLabel = 'graphql';
    plugin.onRequest!(ctx);
    plugin.onDone!(ctx);
  }
  const ns = ((performance.now() - t) * 1e6) / n;
  void plugin.close?.();
  return Math.round(ns);
}

/** Best of each, with off/on runs alternated, so load from other processes hits both alike. */
function best(a: Record<string, CannonRaw>, b: Record<string, CannonRaw>): Record<string, CannonRaw> {
  const out: Record<string, CannonRaw> = {};
  for (const k of Object.keys(a)) out[k] = a[k]!.requests.average >= b[k]!.requests.average ? a[k]! : b[k]!;
  return out;
}
const rounds = numberArg('rounds', 2);
let off = await run(false);
let on = await run(true);
for (let i = 1; i < rounds; i++) {
  off = best(off, await run(false));
  on = best(on, await run(true));
}
sink.kill();
const rows = ['| scenario | tracing | req/s | p50 ms | p99 ms | non-2xx |', '| --- | --- | --- | --- | --- | --- |'];
for (const s of ['graphql', 'passthrough'] as const) {
  for (const [label, r] of [['off', off[s]!], ['on', on[s]!]] as const) {
    rows.push(`| ${s} | ${label} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} |`);
  }
}
console.log(rows.join('\n'));
console.log(`\nmetrics plugin onRequest+onDone: ~${metricsHookCost()} ns per request`);
console.log(`throughput cost of tracing: graphql ${pctDrop(off.graphql!, on.graphql!)}%, passthrough ${pctDrop(off.passthrough!, on.passthrough!)}%`);

function pctDrop(a: CannonRaw, b: CannonRaw): number {
  return Math.round((1 - b.requests.average / a.requests.average) * 1000) / 10;
}
process.exit(0);
