/**
 * What `--workers N` buys on this machine: requests per second through `gateway start` as one
 * process, then as a primary with 1 and 2 workers, against the same demo upstreams.
 *
 *   node bin/tsx.js bench/workers.ts [--seconds 10] [--connections 50] [--workers 1,2]
 *
 * The demo upstreams run in a process of their own (so they do not share the gateway's event
 * loop) and autocannon runs here: on a 2-core machine all three compete for the same cores,
 * which caps what a second worker can add. Access logs are off (stdout is not what is measured).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, autocannon, spawnNode } from './harness.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const seconds = Number(arg('seconds', '10'));
const connections = Number(arg('connections', '50'));
const workerCounts = arg('workers', '1,2').split(',').map(Number);
const QUERY = JSON.stringify({ query: '{ users(ids: ["1","2","3"]) { name orders { status total } } }' });

// Ephemeral ports (0) for the demo upstreams, so the benchmark never collides with anything.
const demo = await spawnNode([join(ROOT, 'bin', 'tsx.js'), join(ROOT, 'upstreams', 'demo', 'main.ts')], (l) => l.msg === 'demo upstreams listening', {
  USERS_PORT: '0',
  ORDERS_PORT: '0',
  CATALOG_PORT: '0',
});
const file = join(mkdtempSync(join(tmpdir(), 'gw-bench-workers-')), 'gateway.yaml');
writeFileSync(
  file,
  stringify({
    server: { port: 0, host: '127.0.0.1', drainMs: 2000 },
    logging: { level: 'info', accessLog: false },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: demo.line.users }] },
      orders: { protocol: 'http', targets: [{ url: demo.line.orders }] },
      catalog: { protocol: 'grpc', targets: [{ url: demo.line.catalog }], idempotentMethods: ['GetProducts'] },
    },
  }),
);

async function measure(label: string, extra: string[]): Promise<void> {
  const gw = await spawnNode([join(ROOT, 'bin', 'gateway.js'), 'start', '--config', file, ...extra], (l) => l.msg === 'listening');
  const url = `http://127.0.0.1:${gw.line.port}/graphql`;
  const opts = { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY, connections };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, pools, connections
  const r = await autocannon({ ...opts, duration: seconds });
  console.log(`${label.padEnd(22)} ${Math.round(r.requests.average).toString().padStart(6)} req/s   p50 ${r.latency.p50} ms   p99 ${r.latency.p99} ms   non-2xx ${r.non2xx}   errors ${r.errors}`);
  await gw.stop();
}

console.log(`autocannon: ${connections} connections, ${seconds} s, POST /graphql users(3) { orders }`);
try {
  await measure('single process', []);
  for (const n of workerCounts) await measure(`--workers ${n}`, ['--workers', String(n)]);
} finally {
  await demo.stop();
}
