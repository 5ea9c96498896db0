/**
 * The access log as a container runtime reads it: stdout is a pipe, lines are batched
 * (`logging.bufferBytes`, `logging.flushIntervalMs`), and none is lost when SIGTERM ends the
 * process. While the pipe takes no writes the buffer stops at `logging.maxBufferBytes`: lines
 * past that are dropped and counted in one warning line, and every line is either written or counted.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCliGateway } from './helpers/cli.js';
import { FIXTURE_CLI_ARGS } from './fixtures/domain/index.js';

function configFile(logging: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-accesslog-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, `
server: { port: 0, host: 127.0.0.1, drainMs: 2000 }
logging: ${JSON.stringify({ accessLog: true, ...logging })}
upstreams:
  users: { protocol: http, targets: [ { url: "http://127.0.0.1:1" } ] }
  orders: { protocol: http, targets: [ { url: "http://127.0.0.1:1" } ] }
  catalog: { protocol: grpc, targets: [ { url: "127.0.0.1:1" } ] }
`);
  return file;
}

/** `n` GETs of /healthz?i=…, `width` at a time; resolves when all were answered. */
async function hit(url: string, n: number, width = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(`${url}/healthz?i=${i}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

const accessLines = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.type === 'access');

describe('access log batching', () => {
  it('holds lines until the buffer fills or the interval passes, and writes every one of them on SIGTERM', async () => {
    const gw = await startCliGateway(['--config', configFile({ bufferBytes: 262_144, flushIntervalMs: 60_000 }), ...FIXTURE_CLI_ARGS]);
    await hit(gw.url, 200);
    await new Promise((r) => setTimeout(r, 200));
    // 200 lines of ~300 bytes are far below the buffer, and the interval is a minute away.
    expect(accessLines(gw.lines)).toHaveLength(0);
    expect(await gw.stop('SIGTERM')).toBe(0);
    const ids = new Set(accessLines(gw.lines).map((l) => l.requestId));
    expect(ids.size).toBe(200);
    expect(accessLines(gw.lines).every((l) => l.path === '/healthz' && l.status === 200)).toBe(true);
  });

  it('writes a quiet buffer after flushIntervalMs; bounds it while stdout is blocked: lines past maxBufferBytes are dropped and counted in one warning', async () => {
    const gw = await startCliGateway(['--config', configFile({ bufferBytes: 4096, flushIntervalMs: 20, maxBufferBytes: 65_536 }), ...FIXTURE_CLI_ARGS]);
    try {
      // Three lines (~1 KB) never fill 4 KiB: only the interval writes them.
      await hit(gw.url, 3, 1);
      const quietBy = Date.now() + 3000;
      while (accessLines(gw.lines).length < 3 && Date.now() < quietBy) await new Promise((r) => setTimeout(r, 10));
      expect(accessLines(gw.lines)).toHaveLength(3);
      gw.child.stdout!.pause(); // nobody reads the pipe: the kernel's buffer fills, then the gateway's
      const n = 1500;
      await hit(gw.url, n);
      gw.child.stdout!.resume();
      const deadline = Date.now() + 5000;
      const warning = () => gw.lines.find((l) => l.msg === 'log lines dropped: stdout did not take writes');
      while (!warning() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const dropped = warning()?.droppedLines as number;
      expect(dropped).toBeGreaterThan(0);
      expect(accessLines(gw.lines).length + dropped).toBe(n + 3);
      // Written by the logger, not by hand: the base fields of every other line, in pino's order.
      const access = accessLines(gw.lines)[0]!;
      expect(Object.keys(warning()!)).toEqual(['level', 'time', 'pid', 'droppedLines', 'maxBufferBytes', 'msg']);
      expect(warning()).toMatchObject({ level: 'warn', pid: access.pid, maxBufferBytes: 65_536 });
      expect(String(warning()!.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });
});
