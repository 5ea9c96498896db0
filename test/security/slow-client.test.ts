/**
 * Slow clients (#16): a body that pauses is cut with 408 at `server.bodyTimeoutMs`, a request
 * that dribbles is cut at `server.requestTimeoutMs`, small bodies are read whole before an
 * upstream connection is taken, streamed uploads can hold at most `maxStreamingUploads` of an
 * upstream's connections, and the deadline covers waiting for a pool connection.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/index.js';
import { gql, openRaw, sleep, startIsolationGateway, startStore, startVault, statusOf, type SlowRequest, type Store, type Vault } from './helpers/upstream-isolation.js';

const BODY_TIMEOUT = 400;
const REQUEST_TIMEOUT = 1500;

let store: Store;
let vault: Vault;
let gw: RunningGateway;
const open: SlowRequest[] = [];

beforeAll(async () => {
  store = await startStore(async (req, res) => {
    if (req.url === '/hold') await sleep(1500);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ thing: 'ok' }));
  });
  vault = await startVault();
  gw = await startIsolationGateway({
    store,
    vault,
    configure(c) {
      c.server.bodyTimeoutMs = BODY_TIMEOUT;
      c.server.requestTimeoutMs = REQUEST_TIMEOUT;
      c.server.requestBufferBytes = 1024;
      c.upstreams.store.connections = 4;
      c.upstreams.store.maxStreamingUploads = 2;
      c.upstreams.store.timeoutMs = 1000;
      c.upstreams.store.circuitBreaker = { failureThreshold: 2, openMs: 30_000, successThreshold: 1 };
      c.routes.unshift({ name: 'short', match: { pathPrefix: '/short' }, upstream: 'store', rewrite: { stripPrefix: '/short' }, timeoutMs: 300 });
    },
  });
});
afterEach(async () => {
  for (const r of open.splice(0)) r.socket.destroy();
  await sleep(50);
  store.calls.length = 0;
});
afterAll(async () => {
  await gw.close();
  await store.close();
  await vault.close();
});

function start(head: string): SlowRequest {
  const r = openRaw(gw.url, head);
  open.push(r);
  return r;
}

describe('a body that pauses longer than bodyTimeoutMs is cut with 408', () => {
  const cases: Array<[string, string, string]> = [
    ['small declared body (buffered)', 'POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'x'.repeat(10)],
    ['small chunked body (buffered)', 'POST /store/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', '5\r\nhello\r\n'],
    ['large declared body (streamed)', 'POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 'x'.repeat(4000)],
    ['large chunked body (streamed)', 'POST /store/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', `fa0\r\n${'x'.repeat(4000)}\r\n`],
    ['GraphQL POST', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n', '{"query":"{ st'],
    ['REST→gRPC JSON body', 'POST /vault HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n', '{"ids":["a'],
    ['no body byte at all', 'POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', ''],
  ];
  it.each(cases)('%s', async (_name, head, first) => {
    const t0 = Date.now();
    const r = start(head);
    if (first) r.write(first);
    const raw = await r.answer;
    const took = Date.now() - t0;
    if (statusOf(raw) === 408) {
      expect(raw).toMatch(/REQUEST_TIMEOUT/);
      expect(took).toBeLessThan(BODY_TIMEOUT + 700);
    } else {
      // A streamed body's answer may already be under way; then the connection is cut instead.
      expect(statusOf(raw)).toBe(0);
    }
    expect(took).toBeGreaterThanOrEqual(BODY_TIMEOUT - 50);
    expect(store.calls.every((c) => !c.complete)).toBe(true);
  });

  it('a body that keeps dribbling within the pause limit is cut at requestTimeoutMs', async () => {
    const t0 = Date.now();
    const r = start('POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    const timer = setInterval(() => r.write('x'), BODY_TIMEOUT / 4);
    const raw = await r.answer;
    clearInterval(timer);
    expect(statusOf(raw)).toBe(408);
    expect(Date.now() - t0).toBeLessThan(REQUEST_TIMEOUT + 1000);
    expect(store.calls).toHaveLength(0);
  });

  it('the upstream stays healthy after many timed-out bodies (breaker closed)', async () => {
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const r = start('POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
        r.write('x'.repeat(4000));
        await r.answer;
      }),
    );
    const res = await fetch(`${gw.url}/store/fine`);
    expect(res.status).toBe(200);
    expect(store.calls.at(-1)!.url).toBe('/fine');
  });
});

describe('request buffering', () => {
  it.each([
    ['declared length', 'Content-Length: 600\r\n', ['x'.repeat(300), 'x'.repeat(300)]],
    ['chunked', 'Transfer-Encoding: chunked\r\n', [`12c\r\n${'x'.repeat(300)}\r\n`, `12c\r\n${'x'.repeat(300)}\r\n0\r\n\r\n`]],
  ])('a small body (%s) is read whole before the upstream sees a request', async (_n, headers, parts) => {
    const r = start(`POST /store/small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`);
    r.write(parts[0]!);
    await sleep(250);
    expect(store.calls).toHaveLength(0);
    expect(store.open).toBe(0);
    r.write(parts[1]!);
    expect(statusOf(await r.answer)).toBe(200);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]).toMatchObject({ bytes: 600, complete: true });
    // The upstream got the body in one go, not at the client's pace.
    expect(store.calls[0]!.bodyMs).toBeLessThan(100);
  });
});

describe('slow uploads cannot starve an upstream', () => {
  it('with more slow uploads than connections open, a passthrough and a GraphQL call still answer in time', async () => {
    for (let i = 0; i < 8; i++) {
      const r = start('POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      r.write('x'.repeat(2000));
      // Keep each one alive within the pause limit.
      const t = setInterval(() => r.socket.writable && r.write('x'), BODY_TIMEOUT / 2);
      r.socket.once('close', () => clearInterval(t));
    }
    await sleep(150);
    // At most maxStreamingUploads of them reached the upstream; the rest wait for a slot.
    expect(store.open).toBeLessThanOrEqual(2);
    const t0 = Date.now();
    const [rest, graph] = await Promise.all([fetch(`${gw.url}/store/normal`), gql(gw.url, '{ storeThing }')]);
    expect(rest.status).toBe(200);
    expect(graph.body.data.storeThing).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(store.calls.map((c) => c.url)).toEqual(expect.arrayContaining(['/normal', '/thing']));
  });

  it('an upload over the cap that finds no slot before its deadline is a 503, and never reaches the upstream', async () => {
    for (let i = 0; i < 2; i++) {
      const r = start('POST /store/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      r.write('x'.repeat(2000));
      const t = setInterval(() => r.socket.writable && r.write('x'), BODY_TIMEOUT / 2);
      r.socket.once('close', () => clearInterval(t));
    }
    await sleep(100);
    const t0 = Date.now();
    const over = start('POST /short/over HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    over.write('x'.repeat(2000));
    const raw = await over.answer;
    expect(statusOf(raw)).toBe(503);
    expect(raw).toMatch(/UPSTREAM_UNAVAILABLE/);
    expect(Date.now() - t0).toBeLessThan(900);
    expect(store.calls.map((c) => c.url)).not.toContain('/over');
  });

  it('the deadline covers the wait for a pool connection', async () => {
    // Four calls hold all four connections for 1.5 s; the fifth (route budget 300 ms) must not wait for them.
    const holders = Array.from({ length: 4 }, () => fetch(`${gw.url}/store/hold`).then((r) => r.status));
    for (let i = 0; i < 100 && store.open < 4; i++) await sleep(10);
    expect(store.open).toBe(4);
    const t0 = Date.now();
    const res = await fetch(`${gw.url}/short/queued`);
    const took = Date.now() - t0;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe('UPSTREAM_TIMEOUT');
    expect(took).toBeLessThan(800);
    // The holders outlast the upstream's timeoutMs (1 s) themselves.
    expect(await Promise.all(holders)).toEqual([504, 504, 504, 504]);
    await sleep(100);
    // The queued request was dropped from the pool's queue, not sent late.
    expect(store.calls.map((c) => c.url)).not.toContain('/queued');
  });
});
