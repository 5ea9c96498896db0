/**
 * Trusted documents and APQ against a real gateway: by hash and by id, the APQ
 * not-found/register round trip, hash mismatches, onlyPersisted, APQ on by default (bounded by
 * entries), `apq: false` answering PersistedQueryNotSupported, and Redis-shared APQ.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TRUSTED = '{ user(id: "1") { name } }';
const dir = mkdtempSync(join(tmpdir(), 'gw-persisted-'));
const file = join(dir, 'persisted.json');
writeFileSync(file, JSON.stringify({ [sha(TRUSTED)]: TRUSTED, 'profile-v1': '{ user(id: "2") { name } }' }));

async function post(gw: TestGateway, body: unknown) {
  const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe('persisted operations and APQ', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.graphql = { persistedOperations: { file } }) });
  });
  afterAll(() => gw.close());

  it('runs a trusted document by hash and by documentId', async () => {
    expect((await post(gw, { extensions: apq(sha(TRUSTED)) })).body.data.user.name).toBe('Ada Lovelace');
    expect((await post(gw, { documentId: 'profile-v1' })).body.data.user.name).toBe(gw.demo.data.users.get('2')!.name);
  });

  it('APQ: unknown hash → PersistedQueryNotFound, then hash + query registers it', async () => {
    const q = '{ product(id: "p2") { name } }';
    const miss = await post(gw, { extensions: apq(sha(q)) });
    expect(miss.body.errors[0].message).toBe('PersistedQueryNotFound');
    expect(miss.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(gw, { query: q, extensions: apq(sha(q)) })).body.data.product.name).toBeTruthy();
    expect((await post(gw, { extensions: apq(sha(q)) })).body.data.product.name).toBeTruthy();
    const viaGet = await fetch(`${gw.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(apq(sha(q))))}`);
    expect(((await viaGet.json()) as any).data.product.name).toBeTruthy();
  });

  it('a query that does not match its hash is refused', async () => {
    const r = await post(gw, { query: '{ __typename }', extensions: apq(sha('something else')) });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].message).toMatch(/does not match/);
  });

  it('unknown documentId → PERSISTED_QUERY_NOT_FOUND', async () => {
    expect((await post(gw, { documentId: 'nope' })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('APQ by default', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // No persistedOperations key at all: APQ is on, in memory.
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  it('registers and serves a hash without any persistedOperations config', async () => {
    const q = '{ user(id: "5") { id } }';
    const miss = await post(gw, { extensions: apq(sha(q)) });
    expect(miss.status).toBe(400);
    expect(miss.body.errors[0].message).toBe('PersistedQueryNotFound');
    expect(miss.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(gw, { query: q, extensions: apq(sha(q)) })).body.data.user.id).toBe('5');
    gw.demo.reset();
    const hit = await post(gw, { extensions: apq(sha(q)) });
    expect(hit.status).toBe(200);
    expect(hit.body.data.user.id).toBe('5');
    expect(gw.demo.users.recorder.calls).toHaveLength(1);
  });
});

describe('APQ store bounded by entries', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.graphql = { persistedOperations: { maxEntries: 3 } }) });
  });
  afterAll(() => gw.close());

  it('keeps at most maxEntries documents, forgetting the least recently used', async () => {
    const docs = ['1', '2', '3', '4', '5'].map((id) => `{ user(id: "${id}") { id } }`);
    for (const q of docs) expect((await post(gw, { query: q, extensions: apq(sha(q)) })).status).toBe(200);
    const known = [];
    // Newest first, so a lookup does not refresh an entry before it is measured.
    for (const q of [...docs].reverse()) known.push((await post(gw, { extensions: apq(sha(q)) })).status === 200);
    expect(known).toEqual([true, true, true, false, false]);
  });
});

describe('APQ turned off (apq: false)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.graphql = { persistedOperations: { file, apq: false } }) });
  });
  afterAll(() => gw.close());

  it('a hash alone answers PersistedQueryNotSupported, so an APQ client falls back to sending the query', async () => {
    const q = '{ user(id: "3") { name } }';
    const first = await post(gw, { extensions: apq(sha(q)) });
    expect(first.status).toBe(400);
    expect(first.body.errors[0].message).toBe('PersistedQueryNotSupported');
    expect(first.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    // What Apollo Client's persisted-query link and urql's persistedExchange do next: the query in full.
    expect((await post(gw, { query: q })).body.data.user.name).toBe(gw.demo.data.users.get('3')!.name);
    const viaGet = await fetch(`${gw.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(apq(sha(q))))}`, { headers: { accept: 'application/json' } });
    expect(((await viaGet.json()) as any).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  it('hash + query still runs but registers nothing', async () => {
    const q = '{ user(id: "4") { id } }';
    expect((await post(gw, { query: q, extensions: apq(sha(q)) })).body.data.user.id).toBe('4');
    expect((await post(gw, { extensions: apq(sha(q)) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  it('documents from the file are still served by hash and by id', async () => {
    expect((await post(gw, { extensions: apq(sha(TRUSTED)) })).body.data.user.name).toBe('Ada Lovelace');
    expect((await post(gw, { documentId: 'profile-v1' })).body.data.user).toBeTruthy();
  });
});

describe('onlyPersisted', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.graphql = { persistedOperations: { file, onlyPersisted: true } }) });
  });
  afterAll(() => gw.close());

  it('rejects ad-hoc queries and APQ registration, accepts trusted ones', async () => {
    gw.demo.reset();
    const adhoc = await post(gw, { query: '{ user(id: "3") { name } }' });
    expect(adhoc.status).toBe(400);
    expect(adhoc.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
    const q = '{ user(id: "4") { name } }';
    expect((await post(gw, { query: q, extensions: apq(sha(q)) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
    expect((await post(gw, { query: TRUSTED })).body.data.user.name).toBe('Ada Lovelace');
    expect((await post(gw, { documentId: 'profile-v1' })).body.data.user).toBeTruthy();
  });
});

describe.skipIf(noRedis)('APQ shared through Redis', () => {
  const prefix = testPrefix('apq');
  afterAll(() => dropPrefix(prefix));

  it('a query registered on one instance is known to another', async () => {
    const configure = (c: Record<string, any>) => {
      c.redis = { url: REDIS_URL, keyPrefix: prefix };
      c.graphql = { persistedOperations: {} };
    };
    const a = await startTestGateway({ configure });
    const b = await startTestGateway({ configure, demo: a.demo });
    try {
      const q = '{ user(id: "9") { id } }';
      expect((await post(a, { query: q, extensions: apq(sha(q)) })).body.data.user.id).toBe('9');
      await new Promise((r) => setTimeout(r, 50));
      expect((await post(b, { extensions: apq(sha(q)) })).body.data.user.id).toBe('9');
    } finally {
      await b.close();
      await a.close();
    }
  });
});
