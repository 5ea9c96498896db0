/**
 * Trusted documents and APQ against a real gateway: by hash and by id, the APQ
 * not-found/register round trip, hash mismatches, onlyPersisted, and Redis-shared APQ.
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
