/**
 * Pieces of the benchmark that do not depend on which systems are measured: starting a server
 * in its own process, reading its CPU time and peak RSS from /proc, one autocannon run turned
 * into a flat result, and the round-by-round ratios. bench/run.ts puts them together.
 */
import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The slice of autocannon's result the benchmarks read. */
export interface CannonRaw {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  duration: number;
}
// autocannon ships no type declarations; this is the slice of its API used here.
export const autocannon = (await import('autocannon' as string)).default as (opts: Record<string, unknown>) => Promise<CannonRaw>;

/** `--name N` from the command line, or the default. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
}

export interface Spawned {
  child: ChildProcess;
  /** The first JSON line the process printed that satisfied `ready`. */
  line: Record<string, any>;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now (for servers that must be told their port up front). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts `node args…` and resolves once a JSON line on its stdout satisfies `ready`. */
export function spawnNode(args: string[], ready: (line: Record<string, any>) => boolean, env: NodeJS.ProcessEnv = {}, ipc = false, timeoutMs = 30_000): Promise<Spawned> {
  return spawnUntil(process.execPath, args, ready, env, ipc, timeoutMs);
}

export function spawnUntil(cmd: string, args: string[], ready: (line: Record<string, any>) => boolean, env: NodeJS.ProcessEnv = {}, ipc = false, timeoutMs = 30_000): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', ...env },
      stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    let err = '';
    let done = false;
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start within ${timeoutMs / 1000} s: ${err.slice(-2000)}`)), timeoutMs);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.stderr!.on('data', (d: Buffer) => {
      if (err.length < 20_000) err += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (done) return;
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: Record<string, any>;
        try {
          line = JSON.parse(text) as Record<string, any>;
        } catch {
          continue; // not a JSON line
        }
        if (ready(line)) {
          done = true;
          clearTimeout(timer);
          resolve({ child, line, stop: () => stopChild(child) });
          return;
        }
      }
    });
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited with ${code}: ${err.slice(-2000)}`)));
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A process and its descendants (nginx's workers are children of its master). */
function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(name));
      parents.set(ppid, list);
    } catch {
      // the process went away meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(parents.get(out[i]!) ?? []));
  return out;
}

export interface ProcStats {
  /** user + system CPU time, µs (clock ticks of 10 ms). */
  cpuUs: number;
  /** write-family syscalls of the process tree (`syscw` in /proc/PID/io), to count log writes. */
  writeCalls: number;
  /** Peak resident set size of the process tree, MB (sum of each process's VmHWM). */
  peakRssMb: number;
}

/** CPU time and peak RSS of a process tree, from /proc (Linux); zeros elsewhere. */
export function procStats(pid: number): ProcStats {
  let ticks = 0;
  let hwmKb = 0;
  let writeCalls = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /syscw:\s+(\d+)/.exec(readFileSync(`/proc/${p}/io`, 'utf8'));
      if (m) writeCalls += Number(m[1]);
    } catch {
      // not readable (another user's process) or gone
    }
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) hwmKb += Number(m[1]);
    } catch {
      // not Linux, or gone
    }
  }
  return { cpuUs: ticks * 10_000, writeCalls, peakRssMb: Math.round(hwmKb / 102.4) / 10 };
}

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  /** The exact body every response must carry; others count as mismatches. */
  expectBody?: string;
  connections: number;
  durationSec: number;
  /** Steady load: at most this many requests per second in all (autocannon's overallRate). */
  overallRate?: number;
}

export interface RunResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** non-2xx + socket errors + timeouts + body mismatches. */
  bad: number;
  /** Responses that were not 2xx, or whose body differed from the expected one. */
  wrong: number;
  mismatches: number;
}

/** Turns autocannon's result into the flat figures the report uses. */
export function toRunResult(raw: CannonRaw): RunResult {
  return {
    rps: Math.round(raw.requests.average),
    p50: raw.latency.p50,
    p99: raw.latency.p99,
    requests: raw.requests.total,
    bad: raw.non2xx + raw.errors + raw.timeouts + (raw.mismatches ?? 0),
    wrong: raw.non2xx + (raw.mismatches ?? 0),
    mismatches: raw.mismatches ?? 0,
  };
}

export async function load(spec: LoadSpec): Promise<RunResult> {
  const raw = await autocannon({
    url: spec.url,
    method: spec.method ?? 'GET',
    body: spec.body,
    headers: spec.headers,
    expectBody: spec.expectBody,
    connections: spec.connections,
    duration: spec.durationSec,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  });
  return toRunResult(raw);
}

export const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One measured system in one round. */
export interface Sample extends RunResult {
  system: string;
  round: number;
  cpuUsPerReq: number;
  peakRssMb: number;
  upstreamCallsPerReq: number | null;
}

export interface SystemSummary {
  system: string;
  rounds: number;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  peakRssMb: number;
  upstreamCallsPerReq: number | null;
  bad: number;
}

export interface Ratio {
  peer: string;
  /** gateway req/s ÷ peer req/s, per round (same round = same machine conditions). */
  perRound: number[];
  median: number;
  /** gateway p99 ÷ peer p99, median over rounds. */
  p99Median: number;
}

/** Medians per system over the rounds, and the gateway/peer ratios taken round by round. */
export function summarise(samples: Sample[], gateway = 'gateway'): { systems: SystemSummary[]; ratios: Ratio[] } {
  const names = [...new Set(samples.map((s) => s.system))];
  const systems = names.map((system): SystemSummary => {
    const mine = samples.filter((s) => s.system === system);
    const calls = mine.map((s) => s.upstreamCallsPerReq).filter((c): c is number => c !== null);
    return {
      system,
      rounds: mine.length,
      rps: Math.round(median(mine.map((s) => s.rps))),
      p50: median(mine.map((s) => s.p50)),
      p99: median(mine.map((s) => s.p99)),
      cpuUsPerReq: Math.round(median(mine.map((s) => s.cpuUsPerReq))),
      peakRssMb: Math.max(...mine.map((s) => s.peakRssMb)),
      upstreamCallsPerReq: calls.length ? Math.round(median(calls) * 100) / 100 : null,
      bad: mine.reduce((n, s) => n + s.bad, 0),
    };
  });
  const ratios: Ratio[] = [];
  const gw = samples.filter((s) => s.system === gateway);
  for (const peer of names.filter((n) => n !== gateway)) {
    const perRound: number[] = [];
    const p99s: number[] = [];
    for (const g of gw) {
      const p = samples.find((s) => s.system === peer && s.round === g.round);
      if (!p || p.rps === 0) continue;
      perRound.push(round2(g.rps / p.rps));
      if (p.p99 > 0) p99s.push(g.p99 / p.p99);
    }
    ratios.push({ peer, perRound, median: round2(median(perRound)), p99Median: round2(median(p99s)) });
  }
  return { systems, ratios };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Latency without load: requests one after another on one keep-alive connection, timed with
 * performance.now() (autocannon's whole-millisecond buckets cannot show a sub-millisecond
 * difference). `systems` are sampled in interleaved passes, so that a drift in the machine's
 * state (CPU wake-up latency on an idle VM) hits them alike. Returns p50 and p99 in µs.
 */
export async function unloadedLatency(
  systems: Array<{ name: string; url: string; headers?: Record<string, string> }>,
  perSystem: number,
  passes = 10,
): Promise<Array<{ system: string; p50Us: number; p99Us: number }>> {
  const { Pool } = await import('undici');
  const pools = systems.map((s) => {
    const u = new URL(s.url);
    return { s, path: u.pathname + u.search, pool: new Pool(u.origin, { connections: 1 }), times: [] as number[] };
  });
  const once = async (p: (typeof pools)[number]) => {
    const t0 = performance.now();
    const res = await p.pool.request({ method: 'GET', path: p.path, headers: p.s.headers });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`${p.s.url} answered ${res.statusCode}`);
    return performance.now() - t0;
  };
  try {
    for (const p of pools) for (let i = 0; i < 500; i++) await once(p); // warm the connection and the JIT
    const per = Math.ceil(perSystem / passes);
    for (let pass = 0; pass < passes; pass++) {
      for (const p of pools) for (let i = 0; i < per; i++) p.times.push(await once(p));
    }
  } finally {
    await Promise.all(pools.map((p) => p.pool.close()));
  }
  return pools.map((p) => {
    const t = p.times.sort((a, b) => a - b);
    const at = (q: number) => Math.round(t[Math.min(t.length - 1, Math.floor(q * t.length))]! * 1000);
    return { system: p.s.name, p50Us: at(0.5), p99Us: at(0.99) };
  });
}
