/**
 * Soak: the gateway under steady load for a long while, to show that memory settles.
 *
 *   npm run bench:soak                         # 600 s at 800 req/s (S1) + 40 req/s (S2)
 *   npm run bench:soak -- --seconds 120 --rate 500
 *
 * RSS is read from /proc every 10 s. The figure that matters is the growth of RSS from the
 * end of the warm-up (the first 60 s, or a tenth of a short run) to the end. Heap in use is
 * read from the gateway's own /metrics after a full collection (asked for over the inspector
 * protocol, `HeapProfiler.collectGarbage`, on a loopback-only inspector port), once before the
 * load and once after it stopped, so "the heap returns to baseline" is a measured pair of
 * numbers, not the sawtooth of a lazily collected heap.
 * Every response is checked against the expected body; a wrong one fails the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { WebSocket } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, load, spawnNode, type Spawned } from './harness.js';
import { S1_QUERY, S2_QUERY, gqlBody } from './scenarios.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? dflt : argv[i + 1]!;
};
const seconds = Number(opt('seconds', '600'));
const rate = Number(opt('rate', '800'));
const warmupSec = Math.min(60, Math.max(5, Math.round(seconds / 10)));
const work = mkdtempSync(join(tmpdir(), 'gw-soak-'));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const running: Spawned[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** Runs a full collection in the gateway through its inspector port, then reads heap in use from /metrics. */
async function heapAfterFullGc(inspectorPort: number, base: string): Promise<number> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error('inspector connection failed'));
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.onmessage = (ev) => {
      if ((JSON.parse(String(ev.data)) as { id?: number }).id === 1) resolve();
    };
  });
  ws.close();
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(text);
  return m ? Math.round(Number(m[1]) / 104857.6) / 10 : NaN;
}

async function main(): Promise<void> {
  const upstreams = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
  running.push(upstreams);
  const file = join(work, 'gateway.yaml');
  writeFileSync(file, stringify({
    server: { port: 0, host: '127.0.0.1' },
    logging: { level: 'info', accessLog: false },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: upstreams.line.users }] },
      orders: { protocol: 'http', targets: [{ url: upstreams.line.orders }] },
      catalog: { protocol: 'grpc', targets: [{ url: upstreams.line.catalog }], idempotentMethods: ['GetProducts'] },
    },
  }));
  const inspectorPort = await freePort();
  const gw = await spawnNode(['bin/gateway.js', 'start', '--config', file], (l) => l.msg === 'listening', {
    NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
  });
  running.push(gw);
  const pid = gw.child.pid!;
  const base = `http://127.0.0.1:${gw.line.port}`;
  const url = `${base}/graphql`;
  const headers = { 'content-type': 'application/json' };
  const expect = async (query: string) => (await fetch(url, { method: 'POST', headers, body: gqlBody(query) })).text();
  const s1 = { url, method: 'POST' as const, headers, body: gqlBody(S1_QUERY), expectBody: await expect(S1_QUERY) };
  const s2 = { url, method: 'POST' as const, headers, body: gqlBody(S2_QUERY), expectBody: await expect(S2_QUERY) };

  const heapBefore = await heapAfterFullGc(inspectorPort, base);
  const rssStart = rssMb(pid);
  log(`soak: ${seconds} s at ${rate} req/s S1 + ${Math.round(rate / 20)} req/s S2; warm-up ${warmupSec} s; RSS at start ${rssStart} MB, heap after full GC ${heapBefore} MB`);

  const samples: Array<{ t: number; rssMb: number }> = [];
  const started = Date.now();
  const timer = setInterval(() => samples.push({ t: Math.round((Date.now() - started) / 1000), rssMb: rssMb(pid) }), 10_000);
  const [r1, r2] = await Promise.all([
    load({ ...s1, connections: 20, durationSec: seconds, overallRate: rate }),
    load({ ...s2, connections: 4, durationSec: seconds, overallRate: Math.max(1, Math.round(rate / 20)) }),
  ]);
  clearInterval(timer);
  const rssEnd = rssMb(pid);
  await sleep(5000);
  const heapAfter = await heapAfterFullGc(inspectorPort, base);

  const afterWarmup = samples.find((s) => s.t >= warmupSec)?.rssMb ?? samples[0]?.rssMb ?? rssStart;
  const growthPct = Math.round(((rssEnd - afterWarmup) / afterWarmup) * 1000) / 10;
  const heapDeltaPct = Math.round(((heapAfter - heapBefore) / heapBefore) * 1000) / 10;
  const peak = Math.max(rssStart, rssEnd, ...samples.map((s) => s.rssMb));
  const result = {
    date: new Date().toISOString(),
    seconds, rate,
    requests: { s1: r1.requests, s2: r2.requests, wrong: r1.wrong + r2.wrong, bad: r1.bad + r2.bad },
    latencyMs: { s1p50: r1.p50, s1p99: r1.p99, s2p50: r2.p50, s2p99: r2.p99 },
    rssMb: { start: rssStart, afterWarmup, end: rssEnd, peak, growthAfterWarmupPct: growthPct },
    heapMb: { beforeLoad: heapBefore, afterLoad: heapAfter, deltaPct: heapDeltaPct },
    samples,
  };
  writeFileSync(join('bench', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `soak ${seconds} s: ${r1.requests + r2.requests} requests (${result.requests.wrong} wrong, ${result.requests.bad} bad)\n` +
      `RSS MB: start ${rssStart}, after warm-up ${afterWarmup}, end ${rssEnd}, peak ${peak}; growth after warm-up ${growthPct}%\n` +
      `heap in use after a full GC, MB: before load ${heapBefore}, after load ${heapAfter} (${heapDeltaPct >= 0 ? '+' : ''}${heapDeltaPct}%)\n`,
  );
  if (result.requests.wrong > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  log(`soak failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await Promise.all(running.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
}
