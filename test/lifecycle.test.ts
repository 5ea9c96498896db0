/**
 * The process as an operator sees it: `gateway start` prints its listening line, and SIGTERM
 * drains — in-flight requests complete, new ones are refused, the exit code is 0.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startCliGateway } from './helpers/cli.js';

const CONFIG = `
server: { port: 4000, drainMs: 5000 }
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

describe('gateway start', () => {
  it('prints one JSON line with msg "listening" and the bound port, and serves the demo domain', async () => {
    const gw = await startCliGateway(['--config', configFile(), '--port', '0', '--demo']);
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

  it('SIGTERM lets an in-flight request finish, refuses new work, then exits 0', async () => {
    const gw = await startCliGateway(['--config', configFile(), '--port', '0', '--demo']);
    const total = 16 * 1024 * 12;
    const received = await new Promise<{ bytes: number; status: number }>((resolve, reject) => {
      const req = request(`${gw.url}/download?bytes=${total}&chunkMs=40`, (res) => {
        let bytes = 0;
        let signalled = false;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (!signalled) {
            signalled = true;
            gw.child.kill('SIGTERM');
          }
        });
        res.on('end', () => resolve({ bytes, status: res.statusCode ?? 0 }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received.status).toBe(200);
    expect(received.bytes).toBe(total);
    expect(await gw.exited).toBe(0);
    const logged = gw.lines.map((l) => l.msg);
    expect(logged).toContain('draining');
    expect(logged.indexOf('draining')).toBeLessThan(logged.lastIndexOf('request'));
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });
});
