/**
 * Bodies stream both ways: 100 MB up and 100 MB down pass through the gateway while memory
 * stays bounded (the gateway, the upstream and this client share one process, so the bound
 * covers them all: anything buffering a body whole would blow it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const SIZE = 100 * 1024 * 1024;
/**
 * Peak growth of heap + array buffers over the transfer, garbage included (measured ~35 MB for
 * the whole process when the machine is quiet, up to ~66 MB with other processes taking the CPU,
 * when collections fall behind). A body buffered whole anywhere would add its 100 MB on top, so
 * 80 MB still tells the two apart.
 */
const BOUND = 80 * 1024 * 1024;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.server.maxBodyBytes = 200 * 1024 * 1024;
      c.server.compression = false;
      c.routes = [
        { name: 'files', match: { pathPrefix: '/files' }, upstream: 'users', rewrite: { stripPrefix: '/files' }, timeoutMs: 60_000 },
      ];
    },
  });
});
afterAll(() => gw.close());

function sampleHeap(): { stop(): number } {
  global.gc?.();
  const base = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  let peak = 0;
  const t = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base);
  }, 5);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

function* chunks(total: number, size = 64 * 1024): Generator<Buffer> {
  const chunk = Buffer.alloc(size, 'z');
  for (let sent = 0; sent < total; sent += size) yield chunk;
}

describe('streaming passthrough', () => {
  it('uploads 100 MB (chunked) with bounded memory', async () => {
    const heap = sampleHeap();
    const res = await request(`${gw.url}/files/upload`, { method: 'POST', body: Readable.from(chunks(SIZE)) });
    const body = (await res.body.json()) as { bytes: number };
    const peak = heap.stop();
    expect(res.statusCode).toBe(200);
    expect(body.bytes).toBe(SIZE);
    expect(peak).toBeLessThan(BOUND);
  }, 60_000);

  it('downloads 100 MB with bounded memory', async () => {
    const heap = sampleHeap();
    const res = await request(`${gw.url}/files/download?bytes=${SIZE}`);
    let received = 0;
    for await (const c of res.body) received += (c as Buffer).length;
    const peak = heap.stop();
    expect(res.statusCode).toBe(200);
    expect(received).toBe(SIZE);
    expect(peak).toBeLessThan(BOUND);
  }, 60_000);

  it('a client that goes away mid-download releases the upstream stream', async () => {
    const ac = new AbortController();
    const res = await request(`${gw.url}/files/download?bytes=${SIZE}&chunkMs=1`, { signal: ac.signal });
    let got = 0;
    await expect(
      (async () => {
        for await (const c of res.body) {
          got += (c as Buffer).length;
          if (got > 256 * 1024) ac.abort();
        }
      })(),
    ).rejects.toThrow();
    const target = gw.gateway.upstreams.http('users').targets[0]!;
    for (let i = 0; i < 50 && target.active > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(target.active).toBe(0);
  });
});
