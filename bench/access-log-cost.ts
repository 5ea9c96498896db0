/**
 * What one access-log line costs the gateway's process when stdout is a pipe (as under a
 * container runtime), per-line against batched, measured as CPU time (process.cpuUsage), which a
 * shared machine disturbs far less than req/s:
 *
 *   node bin/tsx.js bench/access-log-cost.ts [--lines 20000] [--per-tick 1] [--work-us 100] [--rounds 5]
 *
 * The parent spawns one child per mode and round, reads its stdout pipe as fast as it comes (a
 * container runtime's reader), and prints the median µs per line. The child logs a line shaped like
 * the access log's, `--per-tick` lines per event-loop turn (as requests finish a few per turn under
 * load), and "none" runs the same loop without logging, to subtract.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { numberArg, median } from './harness.js';

const child = process.argv.includes('--child');
const lines = numberArg('lines', 20_000);
const perTick = numberArg('per-tick', 1);
/** Busy work per event-loop turn, µs: stands for the requests' own work, so writes finish between lines as they do in a server. */
const workUs = numberArg('work-us', 100);

if (child) {
  const mode = process.argv[process.argv.indexOf('--mode') + 1]!;
  const { createLogger } = await import('../src/telemetry/logger.js');
  const log = mode === 'none' ? undefined : createLogger({ level: 'info', bufferBytes: mode === 'per-line' ? 0 : 16_384 });
  const entry = { type: 'access', requestId: '6f1c2a0e-7d3b-4a51-9a57-3c1d5f2e8b90', method: 'POST', path: '/graphql', status: 200, latencyMs: 1.234, route: 'graphql', upstream: 'users', upstreamCalls: 1, clientIp: '127.0.0.1', operationName: undefined, graphql: 'direct', limits: undefined };
  let n = 0;
  const start = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const until = performance.now() + workUs / 1000;
      while (performance.now() < until); // the requests' own work
      for (let i = 0; i < perTick && n < lines; i++, n++) log?.info(entry, 'request');
      if (n < lines) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  await new Promise<void>((r) => (log ? log.flush(() => r()) : r()));
  const used = process.cpuUsage(start);
  process.stderr.write(`${JSON.stringify({ cpuUs: used.user + used.system })}\n`);
  process.exit(0);
}

const rounds = numberArg('rounds', 5);
const self = fileURLToPath(import.meta.url);
async function once(mode: string): Promise<number> {
  const p = spawn(process.execPath, ['bin/tsx.js', self, '--child', '--mode', mode, '--lines', String(lines), '--per-tick', String(perTick), '--work-us', String(workUs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stdout.on('data', () => {}); // drain, as a container runtime does
  p.stderr.on('data', (d: Buffer) => (err += d));
  await new Promise((r) => p.once('exit', r));
  return JSON.parse(err.trim().split('\n').pop()!).cpuUs as number;
}
const modes = ['none', 'per-line', 'batched'];
const cpu = new Map<string, number[]>(modes.map((m) => [m, []]));
for (let r = 0; r < rounds; r++) for (const m of modes) cpu.get(m)!.push(await once(m));
const base = median(cpu.get('none')!);
for (const m of modes) {
  const us = median(cpu.get(m)!);
  console.log(`${m.padEnd(9)} ${(us / lines).toFixed(2)} µs CPU per line in all, ${((us - base) / lines).toFixed(2)} µs for the log (median of ${rounds}; rounds ${cpu.get(m)!.map((x) => (x / lines).toFixed(1)).join(', ')})`);
}
