/**
 * The process as an operator sees it: `gateway start` prints its listening line, and SIGTERM
 * drains — in-flight requests complete, new ones are refused, the exit code is 0.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startCliGateway } from './helpers/cli.js';
import { FIXTURE_DEMO_ARGS } from './fixtures/domain/index.js';

const CONFIG = `
server: { port: 4000, drainMs: 5000 }
logging: { accessLog: true }
upstreams:
  users: { protocol: http, targets: [ { url: "http://127.0.0.1:7001" } ] }
  orders: { protocol: http, targets: [ { url: "http://127.0.0.1:7002" } ] }
  catalog: { protocol: grpc, targets: [ { url: "127.0.0.1:7003" } ], idempotentMethods: [GetProducts] }
routes:
  - name: downloads
    match: { pathPrefix: /download, methods: [GET] }
    upstream: users
`;

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-life-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, CONFIG);
  return file;
}

/** A GET on a fresh connection: the response, or the socket error (refused / reset). */
function getFresh(url: string): Promise<{ status: number; connection: string | undefined } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('gateway start', () => {
  it('prints one JSON line with msg "listening" and the bound port, and serves the domain with its demo upstreams', async () => {
    const gw = await startCliGateway(['--config', configFile(), '--port', '0', ...FIXTURE_DEMO_ARGS]);
    try {
      const listening = gw.lines.find((l) => l.msg === 'listening')!;
      expect(typeof listening.port).toBe('number');
      expect(listening.port).not.toBe(4000);
      const res = await fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(id: "1") { name } }' }),
      });
      expect(((await res.json()) as any).data.user.name).toBe('Ada Lovelace');
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });

  it('SIGTERM lets an in-flight request finish, refuses new work while it runs, then exits 0', async () => {
    const gw = await startCliGateway(['--config', configFile(), '--port', '0', ...FIXTURE_DEMO_ARGS]);
    // 12 chunks, 150 ms apart: the download is still running well after SIGTERM.
    const total = 16 * 1024 * 12;
    let inFlightDone = false;
    let refusedWhileInFlight: Awaited<ReturnType<typeof getFresh>> | undefined;
    let refusedBeforeInFlightEnded: boolean | undefined;
    const received = await new Promise<{ bytes: number; status: number }>((resolve, reject) => {
      const req = request(`${gw.url}/download?bytes=${total}&chunkMs=150`, { agent: false }, (res) => {
        let bytes = 0;
        let signalled = false;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (signalled) return;
          signalled = true;
          gw.child.kill('SIGTERM');
          // Once the gateway says it is draining, new work must be refused while this one still streams.
          const waitDraining = setInterval(() => {
            if (!gw.lines.some((l) => l.msg === 'draining')) return;
            clearInterval(waitDraining);
            void getFresh(`${gw.url}/healthz`).then((r) => {
              refusedWhileInFlight = r;
              refusedBeforeInFlightEnded = !inFlightDone;
            });
          }, 5);
        });
        res.on('end', () => {
          inFlightDone = true;
          resolve({ bytes, status: res.statusCode ?? 0 });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received.status).toBe(200);
    expect(received.bytes).toBe(total);
    expect(await gw.exited).toBe(0);

    expect(refusedBeforeInFlightEnded).toBe(true);
    const r = refusedWhileInFlight!;
    if ('error' in r) expect(r.error).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
    else expect(r).toEqual({ status: 503, connection: 'close' });

    const logged = gw.lines.map((l) => l.msg);
    expect(logged).toContain('draining');
    expect(logged.indexOf('draining')).toBeLessThan(logged.lastIndexOf('request'));
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });
});

it('a second SIGTERM during the drain ends the process at once, exit 1', async () => {
  const gw = await startCliGateway(['--config', configFile(), '--port', '0', ...FIXTURE_DEMO_ARGS]);
  // A slow download keeps the first drain going for seconds.
  const req = request(`${gw.url}/download?bytes=${16 * 1024 * 40}&chunkMs=150`, { agent: false }, (res) => res.resume());
  req.on('error', () => undefined).end();
  await new Promise((r) => setTimeout(r, 200));
  gw.child.kill('SIGTERM');
  while (!gw.lines.some((l) => l.msg === 'draining')) await new Promise((r) => setTimeout(r, 5));
  const started = Date.now();
  gw.child.kill('SIGTERM');
  expect(await gw.exited).toBe(1);
  expect(Date.now() - started).toBeLessThan(2000);
});
