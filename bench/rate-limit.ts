/**
 * What a per-client rate limit adds to a request, counted in memory vs in Redis.
 *
 *   node bin/tsx.js bench/rate-limit.ts [--seconds 5] [--connections 20] [--algorithm sliding-window]
 *   node bin/tsx.js bench/rate-limit.ts --memory-only   # CPU per decision of the in-memory fixed window, before/after
 *
 * 1. The limiter alone: N sequential `consume()` calls, p50 / p99 per call, for each algorithm.
 *    End to end uses `--algorithm` (default fixed-window).
 * 2. End to end: autocannon against a passthrough route (GET /users/1 on the demo upstream)
 *    with no limit, a memory limit and a Redis limit (windows large enough never to refuse);
 *    p50 / p99 latency and requests per second.
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379).
 */
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/index.js';
import { LimiterStore } from '../src/limits/limiter-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startDemoUpstreams } from '../upstreams/shop-demo.js';
import { stringify } from 'yaml';
import type { RateAlgorithm } from '../src/config/schema.js';
import { autocannon, numberArg, type CannonRaw } from './harness.js';


const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const seconds = numberArg('seconds', 5);
const connections = numberArg('connections', 20);
const logger = createLogger({ level: 'silent' });
const prefix = `gwbench:${process.pid}:`;
const algorithmAt = process.argv.indexOf('--algorithm');
const algorithm = (algorithmAt === -1 ? 'fixed-window' : process.argv[algorithmAt + 1]) as RateAlgorithm;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function limiterAlone(kind: 'memory' | 'redis', algo: RateAlgorithm, n = 20_000): Promise<{ p50: number; p99: number }> {
  const store = new LimiterStore({ redis: kind === 'redis' ? { url: REDIS_URL, keyPrefix: prefix } : undefined, logger });
  const w = store.window('perClient', { points: 1_000_000_000, durationSec: 600, algorithm: algo });
  for (let i = 0; i < 1000; i++) await w.consume(`warm${i % 50}`);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await w.consume(`client${i % 50}`);
    times.push(performance.now() - t);
  }
  await store.close();
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

async function endToEnd(kind: 'none' | 'memory' | 'redis') {
  const demo = await startDemoUpstreams();
  const raw: Record<string, any> = {
    server: { port: 0, host: '127.0.0.1' },
    logging: { level: 'silent', accessLog: false },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] },
      orders: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] },
      catalog: { protocol: 'grpc', targets: [{ url: '127.0.0.1:1' }] },
    },
    routes: [{ name: 'users-api', match: { pathPrefix: '/users' }, upstream: 'users' }],
  };
  if (kind !== 'none') raw.rateLimit = { perClient: { points: 1_000_000_000, durationSec: 600, algorithm } };
  if (kind === 'redis') raw.redis = { url: REDIS_URL, keyPrefix: prefix };
  const gw = await startGateway({ config: parseConfig(stringify(raw), {}), demoTargets: demo.targets, port: 0, host: '127.0.0.1', logger });
  await fetch(`${gw.url}/users/1`).then((r) => r.arrayBuffer());
  const result = await autocannon({ url: `${gw.url}/users/1`, connections, duration: seconds });
  await gw.close();
  await demo.close();
  return { p50: result.latency.p50, p99: result.latency.p99, rps: Math.round(result.requests.average), non2xx: result.non2xx };
}

/**
 * CPU per decision of an in-memory fixed window, as a request pays it: rate-limiter-flexible's
 * promise-based RateLimiterMemory (what the gateway used before) against the synchronous
 * MemoryFixedWindow it uses now. Median ns of `rounds` runs of `n` decisions over 50 keys.
 */
async function memoryWindowCpu(n = 200_000, rounds = 5): Promise<{ library: number; sync: number }> {
  const { RateLimiterMemory } = await import('rate-limiter-flexible');
  const { MemoryFixedWindow } = await import('../src/limits/algorithms.js');
  const lib = new RateLimiterMemory({ points: 1_000_000_000, duration: 600 });
  const sync = new MemoryFixedWindow({ limit: 1_000_000_000, durationMs: 600_000, burst: 1_000_000_000 });
  const keys = Array.from({ length: 50 }, (_, i) => `client${i}`);
  const runLib = async () => {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) await lib.consume(keys[i % 50]!, 1);
    const u = process.cpuUsage(t);
    return ((u.user + u.system) * 1000) / n;
  };
  const runSync = () => {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) sync.take(keys[i % 50]!, 1);
    const u = process.cpuUsage(t);
    return ((u.user + u.system) * 1000) / n;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await runLib());
    b.push(runSync());
  }
  sync.close();
  const med = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
  return { library: Math.round(med(a)), sync: Math.round(med(b)) };
}

const rows: string[] = [];
const mw = await memoryWindowCpu();
rows.push(`| memory fixed window, CPU per decision: RateLimiterMemory.consume (awaited) ${mw.library} ns, MemoryFixedWindow.take ${mw.sync} ns | | | |`);
if (process.argv.includes('--memory-only')) {
  console.log(rows.join('\n'));
  process.exit(0);
}
for (const algo of ['fixed-window', 'sliding-window', 'token-bucket'] as const) {
  for (const kind of ['memory', 'redis'] as const) {
    const r = await limiterAlone(kind, algo);
    rows.push(`| limiter alone, ${algo}, ${kind} | ${(r.p50 * 1000).toFixed(0)} µs | ${(r.p99 * 1000).toFixed(0)} µs | |`);
  }
}
for (const kind of ['none', 'memory', 'redis'] as const) {
  const r = await endToEnd(kind);
  rows.push(`| GET /users/1 via gateway, limit: ${kind}${kind === 'none' ? '' : `, ${algorithm}`} | ${r.p50} ms | ${r.p99} ms | ${r.rps} req/s${r.non2xx ? ` (${r.non2xx} non-2xx!)` : ''} |`);
}
console.log(`\n${connections} connections, ${seconds} s per run, node ${process.version}\n`);
console.log('| scenario | p50 | p99 | throughput |\n| --- | --- | --- | --- |');
console.log(rows.join('\n'));
// Clean up the bench's own keys.
const { Redis } = await import('ioredis');
const client = new Redis(REDIS_URL);
const keys = await client.keys(`${prefix}*`);
if (keys.length) await client.del(...keys);
client.disconnect();
