/**
 * What holds the gateway's memory under S2 (50 concurrent fan-outs): the gateway runs as a user
 * starts it (`gateway start`, compiled build), the demo upstreams in a process of their own, and
 * autocannon sends S2 while the harness reads the gateway's own /metrics every second (resident
 * set, V8 heap by space, external memory, array buffers) and its VmHWM from /proc at the end.
 *
 *   node bin/tsx.js bench/memory.ts [--seconds 15] [--connections 50] [--node-flags "--max-semi-space-size=4"]
 *
 * Prints one JSON line of peaks (MB) and the heap spaces at the moment RSS peaked.
 */
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { load, numberArg, spawnNode } from './harness.js';
import { S2_QUERY, gqlBody } from './scenarios.js';

const seconds = numberArg('seconds', 15);
const connections = numberArg('connections', 50);
const flagsAt = process.argv.indexOf('--node-flags');
const nodeFlags = flagsAt === -1 ? '' : process.argv[flagsAt + 1]!;
const work = mkdtempSync(join(tmpdir(), 'gw-mem-'));

const upstreams = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
const file = join(work, 'gateway.yaml');
writeFileSync(file, stringify({
  server: { port: 0, host: '127.0.0.1', drainMs: 1000 },
  upstreams: {
    users: { protocol: 'http', targets: [{ url: upstreams.line.users }] },
    orders: { protocol: 'http', targets: [{ url: upstreams.line.orders }] },
    catalog: { protocol: 'grpc', targets: [{ url: upstreams.line.catalog }], idempotentMethods: ['GetProducts'] },
  },
}));
const gw = await spawnNode([...(nodeFlags ? nodeFlags.split(' ') : []), 'bin/gateway.js', 'start', '--config', file], (l) => l.msg === 'listening');
const base = `http://127.0.0.1:${gw.line.port}`;

const MB = (b: number) => Math.round(b / 1048576 * 10) / 10;
async function sample(): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(process_resident_memory_bytes|nodejs_heap_size_total_bytes|nodejs_heap_size_used_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_used_bytes\{space="(\w+)"\}|nodejs_heap_space_size_total_bytes\{space="(\w+)"\}) (\S+)/.exec(line);
    if (!m) continue;
    const key = m[2] ? `used:${m[2]}` : m[3] ? `total:${m[3]}` : m[1]!;
    out[key] = MB(Number(m[4]));
  }
  return out;
}

const idle = await sample();
const samples: Array<Record<string, number>> = [];
const timer = setInterval(() => void sample().then((s) => samples.push(s), () => {}), 1000);
const r = await load({ url: `${base}/graphql`, method: 'POST', body: gqlBody(S2_QUERY), headers: { 'content-type': 'application/json' }, connections, durationSec: seconds });
clearInterval(timer);
const status = readFileSync(`/proc/${gw.child.pid}/status`, 'utf8');
const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
const peak = samples.reduce((a, b) => ((b.process_resident_memory_bytes ?? 0) > (a.process_resident_memory_bytes ?? 0) ? b : a), {} as Record<string, number>);
const max = (k: string) => Math.max(...samples.map((s) => s[k] ?? 0));
console.log(JSON.stringify({
  nodeFlags, rps: r.rps, bad: r.bad, vmHwmMb: Math.round(hwm), idleRssMb: idle.process_resident_memory_bytes,
  peakRssMb: max('process_resident_memory_bytes'), peakHeapTotalMb: max('nodejs_heap_size_total_bytes'), peakHeapUsedMb: max('nodejs_heap_size_used_bytes'),
  peakExternalMb: max('nodejs_external_memory_bytes'), atRssPeak: peak,
}));
await gw.stop();
await upstreams.stop();
