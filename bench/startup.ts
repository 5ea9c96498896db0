/**
 * What a command costs before it does anything useful, for the compiled build that `npm ci`
 * makes: `gateway config check` wall time, `gateway start --demo` from spawn to the `listening`
 * line, and the started gateway's RSS 2 s after it listens and once idle (after `--idle-ms`, by
 * default 30 s: V8's memory reducer gives back the young generation that loading grew only after
 * some seconds without work). Targets (issue #17): config check < 1 s, start < 1.5 s, idle RSS
 * < 90 MB. `npm run bench:startup [-- --runs 5 --idle-ms 30000]`; the median of the runs is shown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, numberArg, spawnNode } from './harness.js';
import { buildIsFresh } from '../bin/freshness.js';

const BIN = join(ROOT, 'bin', 'gateway.js');
const runs = numberArg('runs', 5);
const idleMs = numberArg('idle-ms', 30_000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

if (!buildIsFresh(ROOT)) {
  console.error('the build is older than the sources: run `npm run build` first (this measures the compiled gateway)');
  process.exit(1);
}

const check: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'config', 'check', '--config', join(ROOT, 'gateway.yaml')], { cwd: ROOT, encoding: 'utf8' });
  check.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`config check failed: ${r.stderr}`);
}

const start: number[] = [];
const rssStarted: number[] = [];
const rss: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const gw = await spawnNode([BIN, 'start', '--config', join(ROOT, 'gateway.yaml'), '--demo', '--port', '0'], (l) => l.msg === 'listening', { LOG_LEVEL: 'info' });
  start.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 2000));
  rssStarted.push(rssMb(gw.child.pid!));
  await new Promise((r) => setTimeout(r, Math.max(0, idleMs - 2000)));
  rss.push(rssMb(gw.child.pid!));
  await gw.stop();
}

const row = (name: string, xs: number[], unit: string, target: number) =>
  console.log(`${name.padEnd(28)} median ${median(xs).toFixed(0).padStart(5)} ${unit}  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})  target < ${target} ${unit}`);
row('config check', check, 'ms', 1000);
row('start --demo to listening', start, 'ms', 1500);
row('RSS 2 s after listening', rssStarted, 'MB', 90);
row(`idle RSS (${idleMs / 1000} s)`, rss, 'MB', 90);
