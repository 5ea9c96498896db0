/**
 * Passthrough answers are dispatched and written straight to the client's response (no undici
 * body stream): the client's pace holds the upstream, a client that leaves ends the upstream
 * exchange, an upstream that fails mid-body cuts the client's answer, and an answer a retry
 * drops is read out so its connection serves again. The upstream has ONE connection here, so a
 * connection left paused or never released shows up as the next call waiting for it.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** The upstream's answer for the next calls. */
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok');
let calls = 0;
const sockets = new Set<Socket>();
const upstream = createServer((req, res) => {
  calls++;
  answer(req, res);
});
upstream.on('connection', (s: Socket) => {
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
});
let fixture: FixtureUpstreams;
let gw: TestGateway;

beforeAll(async () => {
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  fixture = await startFixtureUpstreams();
  gw = await startTestGateway({
    demo: { ...fixture, targets: { ...fixture.targets, users: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } },
    configure(c) {
      c.server.compression = false;
      c.upstreams.users.connections = 1;
      c.upstreams.users.retry = { attempts: 1, baseDelayMs: 1, budgetPercent: 100 };
      c.routes = [{ name: 'p', match: { pathPrefix: '/p' }, upstream: 'users', timeoutMs: 3_000 }];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await fixture.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

/** A request of the gateway by node:http (no Accept-Encoding), resolved at the answer's head. */
function send(path: string, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}${path}`, { method, agent: false }, resolve);
    req.once('error', reject);
    req.end();
  });
}

async function text(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of res) s += String(c);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An answer the upstream connection serves right after: it was released, not held or paused. */
async function poolServes(): Promise<void> {
  answer = (_req, res) => res.end('next');
  const started = Date.now();
  const res = await send('/p/next');
  expect(res.statusCode).toBe(200);
  expect(await text(res)).toBe('next');
  expect(Date.now() - started).toBeLessThan(2_000);
}

describe('passthrough answers written by the dispatch handler', () => {
  it('a client that reads slowly holds the upstream back (back-pressure), then gets every byte', async () => {
    const TOTAL = 64 * 1024 * 1024;
    let written = 0;
    let finished = false;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
      const chunk = Buffer.alloc(64 * 1024, 'b');
      const pump = (): void => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end(() => (finished = true));
      };
      pump();
    };
    const res = await send('/p/big');
    res.pause();
    await sleep(600);
    // Socket buffers on both hops take some megabytes; a gateway that ignored back-pressure would
    // have taken all 64 MiB off the upstream by now.
    expect(finished).toBe(false);
    expect(written).toBeLessThan(TOTAL / 2);
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await new Promise((r) => res.once('end', r));
    expect(received).toBe(TOTAL);
    expect(res.complete).toBe(true);
    await poolServes();
  }, 30_000);

  it('a client that leaves mid-body ends the upstream exchange and frees its connection', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => res.write('x'.repeat(1024)), 5);
      res.once('close', () => {
        clearInterval(t);
        upstreamClosed();
      });
    };
    const res = await send('/p/endless');
    await new Promise((r) => res.once('data', r));
    res.destroy();
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(2_000);
    await poolServes();
  });

  it('a client that left before the answer’s head: the exchange ends when the head comes', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    let headAt = 0;
    answer = (_req, res) => {
      res.once('close', () => upstreamClosed());
      setTimeout(() => {
        headAt = Date.now();
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => res.write('z'.repeat(1024)), 5);
        res.once('close', () => clearInterval(t));
      }, 300);
    };
    const req = httpRequest(`${gw.url}/p/late`, { agent: false });
    req.once('error', () => {});
    req.end();
    setTimeout(() => req.destroy(), 100);
    await closed;
    expect(headAt).toBeGreaterThan(0);
    expect(Date.now() - headAt).toBeLessThan(2_000);
    await poolServes();
  });

  it('an upstream that resets mid-body cuts the client’s answer (no clean end)', async () => {
    answer = (_req, res) => {
      // Chunked: only a cut connection (not a clean last chunk) tells the client the answer is short.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('y'.repeat(1000), () => setTimeout(() => res.socket?.destroy(), 20));
    };
    const res = await send('/p/reset');
    expect(res.statusCode).toBe(200);
    let received = 0;
    const outcome = await new Promise<string>((resolve) => {
      res.on('data', (c: Buffer) => (received += c.length));
      res.once('end', () => resolve('end'));
      res.once('error', () => resolve('error'));
      res.once('aborted', () => resolve('aborted'));
      res.once('close', () => resolve(res.complete ? 'end' : 'cut'));
    });
    expect(outcome).not.toBe('end');
    expect(res.complete).toBe(false);
    expect(received).toBeLessThanOrEqual(1000);
    await poolServes();
  });

  it('a 503 answer a retry drops is read out: the one connection serves the retry and what follows', async () => {
    calls = 0;
    answer = (_req, res) => {
      if (calls === 1) {
        // Larger than socket buffers hold, so the connection is free only once the body is read out.
        res.writeHead(503, { 'content-type': 'text/plain', 'content-length': String(4 * 1024 * 1024) });
        res.end(Buffer.alloc(4 * 1024 * 1024, 'e'));
        return;
      }
      res.end('second');
    };
    const socketsBefore = new Set(sockets);
    const res = await send('/p/flaky');
    expect(res.statusCode).toBe(200);
    expect(await text(res)).toBe('second');
    expect(calls).toBe(2);
    // The dropped answer's connection carried the retry: it was kept, not closed and reopened.
    expect([...sockets].filter((s) => !socketsBefore.has(s)).length).toBeLessThanOrEqual(1);
    await poolServes();
  });

  it('HEAD, 204 and 304 answers end at once and leave the connection reusable', async () => {
    answer = (req, res) => {
      if (req.url === '/p/head') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '12345' });
        res.end();
      } else if (req.url === '/p/204') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(304, { etag: '"a"' });
        res.end();
      }
    };
    const head = await send('/p/head', 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('12345');
    expect(await text(head)).toBe('');
    for (const [path, status] of [['/p/204', 204], ['/p/304', 304]] as const) {
      const r = await send(path);
      expect(r.statusCode).toBe(status);
      expect(await text(r)).toBe('');
    }
    await poolServes();
  });
});
