/**
 * Upstream isolation (#16): only the upstream's own faults count against it. A client that
 * aborts its upload, or sends a REST→gRPC body the proto cannot encode, gets its own error and
 * never trips the breaker for everyone else; upstream error bodies and gRPC details stay in
 * the log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLogs, type CapturedLogs } from '../helpers/log-capture.js';
import type { RunningGateway } from '../../src/index.js';
import { gql, openRaw, sleep, startIsolationGateway, startStore, startVault, statusOf, type Store, type Vault } from './helpers/upstream-isolation.js';

let store: Store;
let vault: Vault;
let gw: RunningGateway;
let logs: CapturedLogs;

const BREAKER = { failureThreshold: 3, openMs: 30_000, successThreshold: 1 };

beforeAll(async () => {
  store = await startStore((req, res) => {
    if (req.url === '/thing-broken') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Traceback: password=hunter2-secret-body at db.internal:5432');
      return;
    }
    if (req.url === '/thing-bad') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"column secret_body_col does not exist"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ thing: 'ok', url: req.url }));
  });
  vault = await startVault();
  logs = captureLogs('info');
  gw = await startIsolationGateway({
    store,
    vault,
    logger: logs.logger,
    configure(c) {
      c.upstreams.store.circuitBreaker = BREAKER;
      c.upstreams.vault.circuitBreaker = BREAKER;
      c.server.requestBufferBytes = 1024;
    },
  });
});
afterAll(async () => {
  await gw.close();
  await store.close();
  await vault.close();
});
beforeEach(() => {
  store.calls.length = 0;
  vault.calls.length = 0;
});

async function postVault(body: string, query = ''): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}/vault${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

describe('REST→gRPC: a body the proto cannot encode is the client’s 400, with no upstream call', () => {
  const bad: Array<[string, string]> = [
    ['number for repeated string', '{"ids":5}'],
    ['string for repeated string', '{"ids":"a"}'],
    ['numbers inside repeated string', '{"ids":[1,2]}'],
    ['null inside repeated string', '{"ids":[null]}'],
    ['object inside repeated string', '{"ids":[{}]}'],
    ['string for int32', '{"limit":"5"}'],
    ['fraction for int32', '{"limit":1.5}'],
    ['int32 overflow', '{"limit":2147483648}'],
    ['huge number for int32', '{"limit":1e300}'],
    ['huge number for int64', '{"offset":1e300}'],
    ['unsafe integer for int64', '{"offset":9007199254740993}'],
    ['int64 decimal string out of range', '{"offset":"99999999999999999999"}'],
    ['non-decimal string for int64', '{"offset":"0x10"}'],
    ['string for bool', '{"verbose":"true"}'],
    ['number for bool', '{"verbose":1}'],
    ['string for double', '{"ratio":"0.5"}'],
    ['unknown enum name', '{"kind":"KIND_NOPE"}'],
    ['unknown enum number', '{"kind":7}'],
    ['string for a message', '{"inner":"x"}'],
    ['array for a message', '{"inner":[]}'],
    ['unknown nested field', '{"inner":{"nope":1}}'],
    ['object for a nested string', '{"inner":{"label":{}}}'],
    ['wrong map value type', '{"tags":{"a":"b"}}'],
    ['array for a map', '{"tags":[1]}'],
    ['two members of one oneof', '{"byName":"a","byNumber":1}'],
    ['negative uint32', '{"byNumber":-1}'],
    ['not base64 bytes', '{"blob":"!!!"}'],
    ['unknown field', '{"nope":1}'],
    ['snake_case spelling (fields are camelCase)', '{"by_name":"a"}'],
    ['__proto__ key', '{"__proto__":{"ids":["x"]}}'],
    ['constructor key', '{"constructor":{"prototype":{}}}'],
    ['array at the root', '[1,2]'],
    ['string at the root', '"ids"'],
    ['number at the root', '5'],
    ['null at the root', 'null'],
    ['not JSON', '{ids: [1]}'],
    ['truncated JSON', '{"ids":["a"'],
  ];
  it.each(bad)('%s: %s', async (_name, body) => {
    const r = await postVault(body);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BAD_REQUEST');
    expect(vault.calls).toHaveLength(0);
  });

  const badQuery: Array<[string, string]> = [
    ['text for int32', '?limit=abc'],
    ['int32 overflow', '?limit=99999999999'],
    ['fraction for int32', '?limit=1.5'],
    ['text for bool', '?verbose=yes'],
    ['unknown parameter', '?nope=1'],
    ['message field in the query', '?inner=x'],
    ['scalar given twice', '?limit=1&limit=2'],
    ['prototype name', '?__proto__=1'],
  ];
  it.each(badQuery)('query %s: %s', async (_name, query) => {
    const res = await fetch(`${gw.url}/vault${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
    expect(vault.calls).toHaveLength(0);
  });

  it('many refused bodies leave the breaker closed: REST and GraphQL calls to the upstream still succeed', async () => {
    for (let i = 0; i < 10; i++) expect((await postVault('{"ids":5}')).status).toBe(400);
    const ok = await postVault('{"ids":["a"]}');
    expect(ok.status).toBe(200);
    const g = await gql(gw.url, '{ vaultIds(ids: ["b"]) }');
    expect(g.body.data.vaultIds).toEqual(['b']);
    expect(vault.calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
  });

  it('a well-typed message reaches the upstream as sent (body and query)', async () => {
    const r = await postVault(
      '{"ids":["a"],"limit":5,"offset":"9007199254740993","verbose":true,"ratio":0.5,"kind":"KIND_A","inner":{"label":"x"},"tags":{"t":1},"byName":"n","blob":"AAEC"}',
    );
    expect(r.status).toBe(200);
    const q = await fetch(`${gw.url}/vault?ids=c,d&limit=3&verbose=false&kind=1&offset=-4`);
    expect(q.status).toBe(200);
    expect(vault.calls[0]).toMatchObject({ ids: ['a'], limit: 5, offset: '9007199254740993', verbose: true, ratio: 0.5, kind: 'KIND_A', inner: { label: 'x' }, tags: { t: 1 }, byName: 'n' });
    expect(vault.calls[1]).toMatchObject({ ids: ['c', 'd'], limit: 3, kind: 'KIND_A', offset: '-4' });
  });
});

describe('upstream error details stay in the log', () => {
  it('gRPC details never reach a REST client, and are logged with the request id', async () => {
    for (const id of ['explode', 'down']) {
      const res = await fetch(`${gw.url}/vault?ids=${id}`);
      const text = await res.text();
      expect([502, 503]).toContain(res.status);
      expect(text).toContain('vault');
      expect(text).not.toMatch(/passwd|secret-grpc-detail|10\.9\.8\.7/);
      const requestId = JSON.parse(text).requestId as string;
      const line = logs.lines.find((l) => l.requestId === requestId && String(l.details ?? '').includes('secret-grpc-detail'));
      expect(line).toBeDefined();
    }
  });

  it('gRPC details never reach a GraphQL client', async () => {
    const g = await gql(gw.url, '{ vaultIds(ids: ["explode"]) }');
    const text = JSON.stringify(g.body);
    expect(g.body.errors[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(g.body.errors[0].message).toContain('vault');
    expect(text).not.toMatch(/passwd|secret-grpc-detail/);
    expect(logs.lines.some((l) => String(l.details ?? '').includes('/etc/passwd'))).toBe(true);
  });

  it.each([
    ['5xx', '/thing-broken', 'hunter2-secret-body'],
    ['4xx', '/thing-bad', 'secret_body_col'],
  ])('an HTTP upstream %s body never reaches a GraphQL client, and is logged', async (_n, path, secret) => {
    const g = await gql(gw.url, `{ storeThing(path: "${path}") }`);
    expect(store.calls.map((c) => c.url)).toEqual([path]);
    expect(g.body.errors[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(g.body.errors[0].message).toContain('store');
    expect(JSON.stringify(g.body)).not.toContain(secret);
    expect(logs.lines.some((l) => l.upstream === 'store' && String(l.body ?? '').includes(secret) && typeof l.requestId === 'string')).toBe(true);
  });
});

describe('client aborts are not upstream failures', () => {
  async function abortUpload(headers: string, first: string): Promise<void> {
    const before = store.calls.length;
    const r = openRaw(gw.url, `POST /store/upload HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    r.write(first);
    // Wait until the upload is streaming into the upstream, then go away.
    for (let i = 0; i < 100 && store.calls.length === before; i++) await sleep(10);
    r.socket.destroy();
    await r.answer;
  }

  it.each([
    ['declared length', 'Content-Length: 1000000\r\n', 'x'.repeat(4096)],
    ['chunked', 'Transfer-Encoding: chunked\r\n', `1000\r\n${'x'.repeat(4096)}\r\n`],
  ])('%s: N uploads aborted mid-body leave the breaker closed; REST and GraphQL calls succeed', async (_n, headers, first) => {
    for (let i = 0; i < 6; i++) await abortUpload(headers, first);
    await sleep(50);
    expect(store.calls.length).toBe(6);
    expect(store.calls.every((c) => !c.complete)).toBe(true);
    const res = await fetch(`${gw.url}/store/after`);
    expect(res.status).toBe(200);
    const g = await gql(gw.url, '{ storeThing }');
    expect(g.body.data.storeThing).toBe('ok');
    expect(store.calls.slice(6).map((c) => c.url)).toEqual(['/after', '/thing']);
    // Metrics label them as the client's doing, never as the upstream failing (the 500s seen are the error-body tests').
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_upstream_requests_total\{upstream="store",status="CLIENT_CLOSED_REQUEST"\} [1-9]/);
    expect(metrics).not.toMatch(/gateway_upstream_requests_total\{upstream="store",status="UPSTREAM_\w+"\}/);
  });

  it('a small body aborted before it ends never reaches the upstream', async () => {
    const r = openRaw(gw.url, 'POST /store/small HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n');
    r.write('x'.repeat(100));
    await sleep(100);
    r.socket.destroy();
    await r.answer;
    await sleep(50);
    expect(store.calls).toHaveLength(0);
  });

  it('streamed bodies cut at maxBodyBytes do not open the breaker', async () => {
    for (let i = 0; i < 5; i++) {
      const r = openRaw(gw.url, 'POST /store/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let j = 0; j < 40; j++) r.write(`8000\r\n${'y'.repeat(0x8000)}\r\n`);
      const raw = await r.answer;
      expect([0, 413]).toContain(statusOf(raw));
    }
    const res = await fetch(`${gw.url}/store/after-big`);
    expect(res.status).toBe(200);
    expect(store.calls.at(-1)!.url).toBe('/after-big');
  });
});
