/**
 * What holds the gateway's memory under S2 (50 concurrent fan-outs): the gateway runs as a user
 * starts it (`gateway start`, compiled build), the demo upstreams in a process of their own, and
 * autocannon sends S2 while the harness reads the gateway's own /metrics every second (resident
 * set, V8 heap by space, external memory, array buffers) and its VmHWM from /proc at the end.
 *
 *   node bin/tsx.js bench/memory.ts [--seconds 15] [--connections 50] [--node-flags "--max-semi-space-size=4"] [--snapshot]
 *
 * Prints one JSON line of peaks (MB) and the heap spaces at the moment RSS peaked. `--snapshot`
 * also takes a heap snapshot of the gateway (`--heapsnapshot-signal`) when idle and at the end of
 * the load (V8 collects before it writes one, so it shows what is live, not what awaits collection)
 * and prints the largest constructors by self size in each.
 */
import { writeFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
const snapshot = process.argv.includes('--snapshot');
const flags = [...(nodeFlags ? nodeFlags.split(' ') : []), ...(snapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${work}`] : [])];
const gw = await spawnNode([...flags, 'bin/gateway.js', 'start', '--config', file], (l) => l.msg === 'listening');

/** Takes a snapshot and returns the top constructors by self size (MB) and the live total. */
async function snapshotTop(): Promise<{ liveMb: number; top: Array<[string, number]> }> {
  const before = new Set(readdirSync(work));
  process.kill(gw.child.pid!, 'SIGUSR2');
  let name: string | undefined;
  for (let i = 0; i < 600 && !name; i++) {
    await new Promise((r) => setTimeout(r, 100));
    name = readdirSync(work).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
  }
  if (!name) throw new Error('no heap snapshot written');
  let text = '';
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 200));
    text = readFileSync(join(work, name), 'utf8');
    if (text.trimEnd().endsWith('}')) break; // written whole
  }
  rmSync(join(work, name));
  const snap = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const f = snap.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const by = new Map<string, number>();
  let live = 0;
  for (let n = 0; n < snap.nodes.length; n += width) {
    const type = types[snap.nodes[n + iType]!]!;
    const size = snap.nodes[n + iSize]!;
    live += size;
    const key = type === 'object' || type === 'closure' ? `${type}:${snap.strings[snap.nodes[n + iName]!]}` : type;
    by.set(key, (by.get(key) ?? 0) + size);
  }
  const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => [k, MB(v)] as [string, number]);
  return { liveMb: MB(live), top };
}
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
if (snapshot) console.log(JSON.stringify({ snapshot: 'idle', ...(await snapshotTop()) }));
const samples: Array<Record<string, number>> = [];
const timer = setInterval(() => void sample().then((s) => samples.push(s), () => {}), 1000);
const r = await load({ url: `${base}/graphql`, method: 'POST', body: gqlBody(S2_QUERY), headers: { 'content-type': 'application/json' }, connections, durationSec: seconds });
clearInterval(timer);
if (snapshot) console.log(JSON.stringify({ snapshot: 'after S2 load', ...(await snapshotTop()) }));
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
