/**
 * Drain without resets: after close() begins (what SIGTERM calls), answers carry
 * `Connection: close` (in-flight ones too) and idle keep-alive sockets stay open while requests
 * are in flight and for `drainGraceMs` after, so a request a client sends on an idle socket right
 * after the signal is answered instead of meeting ECONNRESET.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FIXTURE_DEMO_ARGS } from '../fixtures/domain/index.js';
import { startCliGateway } from '../helpers/cli.js';
import { startTestGateway } from '../helpers/gateway.js';

interface Answer {
  status: number;
  connection: string | undefined;
}

function get(agent: Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('requests on idle keep-alive sockets right after the signal are answered with Connection: close, none reset', async () => {
  const gw = await startTestGateway({
    configure(c) {
      c.server.drainGraceMs = 300;
      c.routes = [{ name: 'echo', match: { pathPrefix: '/api' }, upstream: 'orders', rewrite: { stripPrefix: '/api' } }];
    },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    // Eight keep-alive sockets, each answered once and now idle in the agent's pool.
    const warm = await Promise.all(Array.from({ length: 8 }, () => get(agent, `${gw.url}/api/echo/warm`)));
    expect(warm.every((a) => a.status === 200 && a.connection === 'keep-alive')).toBe(true);
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(8);

    // One request in flight when the drain starts.
    gw.demo.orders.recorder.behaviour.delayMs = 200;
    const inFlight = get(agent, `${gw.url}/api/echo/slow`);
    await new Promise((r) => setTimeout(r, 50));
    gw.demo.orders.recorder.behaviour.delayMs = 0;

    const closing = gw.close();
    // Sent on the idle sockets just after the drain began.
    const late = await Promise.allSettled(Array.from({ length: 7 }, () => get(agent, `${gw.url}/api/echo/late`)));
    const slow = await inFlight;
    await closing;

    const failures = late.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    for (const r of late) {
      const a = (r as PromiseFulfilledResult<Answer>).value;
      expect(a.status).toBe(200);
      expect(a.connection).toBe('close');
    }
    expect(slow.status).toBe(200);
    expect(slow.connection).toBe('close');
  } finally {
    agent.destroy();
  }
});

it('the same through `gateway start` and SIGTERM: idle keep-alive sockets are answered, not reset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-drain-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    stringify({
      server: { port: 0, drainMs: 5000, drainGraceMs: 500 },
      upstreams: {
        users: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:7001' }] },
        orders: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:7002' }] },
        catalog: { protocol: 'grpc', targets: [{ url: '127.0.0.1:7003' }], idempotentMethods: ['GetProducts'] },
      },
      routes: [{ name: 'downloads', match: { pathPrefix: '/download', methods: ['GET'] }, upstream: 'users' }],
    }),
  );
  const gw = await startCliGateway(['--config', file, ...FIXTURE_DEMO_ARGS]);
  const agent = new Agent({ keepAlive: true, maxSockets: 6 });
  try {
    const warm = await Promise.all(Array.from({ length: 6 }, () => get(agent, `${gw.url}/healthz`)));
    expect(warm.every((a) => a.status === 200)).toBe(true);
    // A download in flight (12 chunks, 150 ms apart) on its own connection keeps the drain going.
    const download = new Promise<number>((resolve, reject) => {
      request(`${gw.url}/download?bytes=${16 * 1024 * 12}&chunkMs=150`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });
    await new Promise((r) => setTimeout(r, 100));
    gw.child.kill('SIGTERM');
    while (!gw.lines.some((l) => l.msg === 'draining')) await new Promise((r) => setTimeout(r, 5));
    const late = await Promise.allSettled(Array.from({ length: 6 }, () => get(agent, `${gw.url}/healthz`)));
    expect(late.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    for (const r of late) expect((r as PromiseFulfilledResult<Answer>).value).toEqual({ status: 200, connection: 'close' });
    expect(await download).toBe(200);
    expect(await gw.exited).toBe(0);
  } finally {
    agent.destroy();
    gw.child.kill('SIGKILL');
  }
});
