/**
 * Issue #16, APQ registration: anonymous clients fill the store, so only documents that
 * validate (and pass demand control) are registered, only up to maxDocumentBytes, and the
 * in-memory store is bounded by bytes (the oldest registrations are forgotten first). In Redis
 * the same rules decide what is written, with a TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { startWidgetsGateway, type WidgetsGateway } from './helpers/graphql-documents.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from '../helpers/redis.js';

const sha = (q: string) => createHash('sha256').update(q).digest('hex');
const apq = (q: string) => ({ persistedQuery: { version: 1, sha256Hash: sha(q) } });
const KIB = 1024;

/** A valid document of about `bytes` bytes (a comment pads it), distinct per `id`. */
function sized(id: number, bytes: number): string {
  const head = `{ widget(id: "${id}") { label } } # `;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

async function register(gw: WidgetsGateway, query: string) {
  return gw.post({ query, extensions: apq(query) });
}
async function lookup(gw: WidgetsGateway, query: string) {
  return gw.post({ extensions: apq(query) });
}

describe('APQ registration in memory', () => {
  let gw: WidgetsGateway;
  beforeAll(async () => {
    gw = await startWidgetsGateway({ persistedOperations: { maxBytes: 64 * KIB, maxDocumentBytes: 8 * KIB } });
  });
  afterAll(() => gw?.close());

  it('registers a small valid document (the control)', async () => {
    const q = '{ widget(id: "11") { label } }';
    expect((await register(gw, q)).body.data.widget.label).toBe('widget 11');
    const hit = await lookup(gw, q);
    expect(hit.status).toBe(200);
    expect(hit.body.data.widget.label).toBe('widget 11');
  });

  const unregistered: Array<[string, string, number]> = [
    ['a document that fails validation', '{ widget(id: "1") { nope } }', 400],
    ['a document with a syntax error', '{ widget(id: "1") { label }', 400],
    ['an introspection bomb', `{ ${Array.from({ length: 4 }, (_, i) => `s${i}: __schema { types { name } }`).join(' ')} }`, 400],
    ['a document over maxDirectives', `{ widget(id: "1") ${'@include(if: true) '.repeat(60)} { label } }`, 400],
    ['a valid document over maxDocumentBytes', sized(12, 9 * KIB), 200],
    ['a valid document of multi-byte characters over maxDocumentBytes', `{ widget(id: "13") { label } } # ${'é'.repeat(4200)}`, 200],
  ];
  it.each(unregistered)('does not register %s', async (_label, q, status) => {
    expect((await register(gw, q)).status).toBe(status);
    const miss = await lookup(gw, q);
    expect(miss.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('keeps the store within maxBytes: old registrations are forgotten, new ones still register', async () => {
    const docs = Array.from({ length: 40 }, (_, i) => sized(100 + i, 4 * KIB));
    for (const q of docs) expect((await register(gw, q)).status).toBe(200);
    const known: boolean[] = [];
    // Newest first, so looking up does not refresh an entry before it would be measured.
    for (const q of [...docs].reverse()) known.push((await lookup(gw, q)).status === 200);
    const count = known.filter(Boolean).length;
    expect(known[0]).toBe(true);
    expect(known.at(-1)).toBe(false);
    expect(count).toBeLessThanOrEqual(16);
    expect(count).toBeGreaterThanOrEqual(8);
  });
});

describe.skipIf(noRedis)('APQ registration in Redis', () => {
  const prefix = testPrefix('apq-sec');
  let gw: WidgetsGateway;
  let redis: Redis;
  beforeAll(async () => {
    gw = await startWidgetsGateway({ persistedOperations: { maxDocumentBytes: 4 * KIB } }, { redis: { url: REDIS_URL, keyPrefix: prefix } });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await gw?.close();
    await dropPrefix(prefix);
  });

  it('writes only valid documents within maxDocumentBytes, each with a TTL', async () => {
    const good = '{ widget(id: "21") { label } }';
    const invalid = '{ widget(id: "21") { nope } }';
    const big = sized(22, 5 * KIB);
    for (const q of [good, invalid, big]) await register(gw, q);
    await new Promise((r) => setTimeout(r, 100));
    const ttl = await redis.ttl(`${prefix}apq:${sha(good)}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(86_400);
    expect(await redis.exists(`${prefix}apq:${sha(invalid)}`)).toBe(0);
    expect(await redis.exists(`${prefix}apq:${sha(big)}`)).toBe(0);
  });
});
