/**
 * Batched GraphQL requests (`graphql.batching`): a JSON array of operations in one POST, as
 * graphql-request's `batchRequests` and Apollo's BatchHttpLink send it, answered as an array in
 * the same order. Each operation counts against every limit as if it came alone; what reached
 * the upstreams is checked at the fixture's demo servers.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { captureLogs } from './helpers/log-capture.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

interface Op { query?: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> }
interface Answer { status: number; headers: Headers; body: any }

async function batch(g: TestGateway, ops: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${g.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(ops),
  });
  return { status: res.status, headers: res.headers, body: JSON.parse(await res.text()) };
}

function upstreamCalls(g: TestGateway): number {
  return g.demo.users.recorder.calls.length + g.demo.orders.recorder.calls.length + g.demo.catalog.recorder.calls.length;
}

function resetCalls(g: TestGateway): void {
  g.demo.users.recorder.reset();
  g.demo.orders.recorder.reset();
  g.demo.catalog.recorder.reset();
}

const user = (id: string): Op => ({ query: 'query U($id: ID!) { user(id: $id) { id name } }', variables: { id } });
const product = (id: string): Op => ({ query: `{ product(id: "${id}") { id } }` });

describe('batching off (the default)', () => {
  it('refuses an array body with 400 BATCHING_DISABLED naming the key that turns it on; nothing reaches an upstream', async () => {
    gw = await startTestGateway();
    resetCalls(gw);
    const r = await batch(gw, [user('1'), user('2')]);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe('BATCHING_DISABLED');
    expect(r.body.errors[0].message).toContain('graphql.batching');
    expect(upstreamCalls(gw)).toBe(0);
    // A single operation is unaffected.
    expect((await gw.gql('{ user(id: "1") { name } }')).body.data.user.name).toBe('Ada Lovelace');
  });
});

describe('batching on', () => {
  const on = (extra: Record<string, unknown> = {}) => (c: Record<string, any>) => {
    c.graphql = { batching: { maxBatchSize: 4 }, ...extra };
  };

  it('answers an array of results in the order of the operations', async () => {
    gw = await startTestGateway({ configure: on() });
    const r = await batch(gw, [user('3'), product('p2'), user('1'), user('999')]);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.body.map((x: any) => x.data)).toEqual([
      { user: { id: '3', name: expect.any(String) } },
      { product: { id: 'p2' } },
      { user: { id: '1', name: 'Ada Lovelace' } },
      { user: null },
    ]);
    const single = await gw.gql('{ user(id: "3") { name } }');
    expect(r.body[0].data.user.name).toBe(single.body.data.user.name);
  });

  it('a batch of one operation is an array of one result', async () => {
    gw = await startTestGateway({ configure: on() });
    const r = await batch(gw, [user('1')]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([{ data: { user: { id: '1', name: 'Ada Lovelace' } } }]);
  });

  it('over maxBatchSize: 400 BATCH_TOO_LARGE, and no operation runs', async () => {
    gw = await startTestGateway({ configure: on() });
    resetCalls(gw);
    const r = await batch(gw, [user('1'), user('2'), user('3'), user('4'), user('5')]);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe('BATCH_TOO_LARGE');
    expect(r.body.errors[0].message).toContain('5');
    expect(r.body.errors[0].message).toContain('maxBatchSize (4)');
    expect(upstreamCalls(gw)).toBe(0);
  });

  it('an empty batch is a 400 BAD_REQUEST', async () => {
    gw = await startTestGateway({ configure: on() });
    const r = await batch(gw, []);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('a too-deep operation inside a batch is refused on its own and reaches no upstream; the others run', async () => {
    gw = await startTestGateway({ configure: on({ maxDepth: 2 }) });
    resetCalls(gw);
    const deep: Op = { query: '{ user(id: "2") { orders { items { product { name } } } } }' };
    const r = await batch(gw, [product('p1'), deep]);
    expect(r.status).toBe(200);
    expect(r.body[0].data.product.id).toBe('p1');
    expect(r.body[1].data).toBeUndefined();
    expect(r.body[1].errors[0].extensions.code).toBe('OPERATION_TOO_DEEP');
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
    expect(gw.demo.orders.recorder.calls).toHaveLength(0);
  });

  it('a too-costly operation inside a batch is refused on its own (maxCost counts per operation, not per batch)', async () => {
    gw = await startTestGateway({ configure: on({ maxCost: 3 }) });
    const cheap = product('p1');
    const costly: Op = { query: '{ a: product(id: "p1") { id } b: product(id: "p2") { id } c: product(id: "p3") { id } d: product(id: "p4") { id } }' };
    const r = await batch(gw, [cheap, cheap, cheap, costly]);
    expect(r.status).toBe(200);
    for (let i = 0; i < 3; i++) expect(r.body[i].data.product.id).toBe('p1');
    expect(r.body[3].errors[0].extensions.code).toBe('OPERATION_TOO_COSTLY');
  });

  it('each operation takes one per-client point: a batch of N within the window passes, the window shows N spent', async () => {
    gw = await startTestGateway({ configure: (c) => { on()(c); c.rateLimit = { perClient: { points: 4, durationSec: 60 } }; } });
    const r = await batch(gw, [user('1'), user('2'), user('3')]);
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(3);
    expect(r.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await gw.gql('{ user(id: "1") { id } }')).status).toBe(200);
    const over = await gw.gql('{ user(id: "1") { id } }');
    expect(over.status).toBe(429);
  });

  it('a batch of N operations with N-1 per-client points left is refused whole: 429 with Retry-After, no operation runs', async () => {
    gw = await startTestGateway({ configure: (c) => { on()(c); c.rateLimit = { perClient: { points: 2, durationSec: 60 } }; } });
    resetCalls(gw);
    const r = await batch(gw, [user('1'), user('2'), user('3')]);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(upstreamCalls(gw)).toBe(0);
  });

  it('a refused batch is told to wait at least one whole window (its retry pays its first point up front again)', async () => {
    // Token bucket: 3 points per 30 s. Three single requests empty it; the next 2 points would be
    // back in 20 s, but a retry of the batch needs 3 (one up front, two after parsing).
    gw = await startTestGateway({ configure: (c) => { on()(c); c.rateLimit = { perClient: { points: 3, durationSec: 30, algorithm: 'token-bucket' } }; } });
    for (let i = 0; i < 2; i++) expect((await gw.gql('{ user(id: "1") { id } }')).status).toBe(200);
    const r = await batch(gw, [user('1'), user('2'), user('3')]);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(30);
  });

  it('the global window also takes one point per operation', async () => {
    gw = await startTestGateway({ configure: (c) => { on()(c); c.rateLimit = { global: { points: 3, durationSec: 60 } }; } });
    expect((await batch(gw, [user('1'), user('2')])).status).toBe(200);
    const r = await batch(gw, [user('1'), user('2')]);
    expect(r.status).toBe(429);
    expect(r.body.errors[0].extensions.code).toBe('RATE_LIMITED');
  });

  it('a field limit counts every resolution across the batch, as if the operations came one by one', async () => {
    gw = await startTestGateway({ configure: (c) => { on()(c); c.rateLimit = { fields: { 'Query.product': { points: 2, durationSec: 60 } } }; } });
    const r = await batch(gw, [product('p1'), product('p2'), product('p3')]);
    expect(r.status).toBe(200);
    const codes = r.body.map((x: any) => x.errors?.[0]?.extensions?.code ?? 'ok');
    expect(codes.filter((c: string) => c === 'ok')).toHaveLength(2);
    expect(codes.filter((c: string) => c === 'RATE_LIMITED')).toHaveLength(1);
  });

  it('APQ: every operation of a batch registers its own document (regression: registrations shared one request key)', async () => {
    gw = await startTestGateway({ configure: on({ persistedOperations: {} }) });
    const docs = ['{ user(id: "1") { id } }', '{ user(id: "2") { id } }', '{ product(id: "p3") { id } }'];
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const ext = (q: string) => ({ persistedQuery: { version: 1, sha256Hash: sha(q) } });
    const reg = await batch(gw, docs.map((q) => ({ query: q, extensions: ext(q) })));
    expect(reg.status).toBe(200);
    expect(reg.body.every((x: any) => x.data && !x.errors)).toBe(true);
    const byHash = await batch(gw, docs.map((q) => ({ extensions: ext(q) })));
    expect(byHash.body.map((x: any) => x.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
    expect(byHash.body[2].data.product.id).toBe('p3');
  });

  it('APQ: a document refused by validation inside a batch is not registered, even beside a valid one', async () => {
    gw = await startTestGateway({ configure: on({ persistedOperations: {}, maxDepth: 2 }) });
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const deep = '{ user(id: "2") { orders { items { quantity } } } }';
    const ok = '{ product(id: "p1") { id } }';
    const ext = (q: string) => ({ persistedQuery: { version: 1, sha256Hash: sha(q) } });
    const r = await batch(gw, [{ query: ok }, { query: deep, extensions: ext(deep) }, { query: ok }]);
    expect(r.body[1].errors[0].extensions.code).toBe('OPERATION_TOO_DEEP');
    const again = await batch(gw, [{ extensions: ext(deep) }]);
    expect(again.body[0].errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('a single plain request still takes the direct path with batching on', async () => {
    const logs = captureLogs();
    gw = await startTestGateway({ configure: on(), logger: logs.logger });
    expect(logs.lines.find((l) => l.msg === 'graphql path')?.graphqlPath).toBe('direct');
    await gw.gql('{ user(id: "1") { id } }');
    await new Promise((r) => setTimeout(r, 50));
    expect(logs.lines.filter((l) => l.msg === 'request').at(-1)?.graphql).toBe('direct');
  });
});
