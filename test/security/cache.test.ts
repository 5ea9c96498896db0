/**
 * Security #16, response cache: nothing fetched with one caller's credentials, host or
 * steering headers is served to another; RFC 9111 directives decide what is stored; the
 * store is bounded in bytes. Real gateway, real origin that answers per caller.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { RunningGateway } from '../../src/index.js';
import { variantKey, varyFields } from '../../src/proxy/cache-key.js';
import { API_KEY, get, startCacheGateway, startOrigin, token, type Origin } from './helpers/cache-gateway.js';
import { rawRequest } from '../helpers/raw-http.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from '../helpers/redis.js';

let origin: Origin;
let gw: RunningGateway;
let seq = 0;
/** A path of its own for each case, so cases never share entries. */
const fresh = (label: string) => `c${++seq}-${label.replace(/[^a-z0-9]+/gi, '-')}`;

beforeAll(async () => {
  origin = await startOrigin();
  gw = await startCacheGateway(origin, { cache: { maxEntryBytes: 16_384 } });
});
afterAll(async () => {
  await gw.close();
  await origin.close();
});

describe('credentials never share an entry on a route without auth', () => {
  const credentials: Array<[string, () => Promise<Record<string, string>>, string]> = [
    ['bearer token', async () => ({ authorization: `Bearer ${await token('alice')}` }), 'alice'],
    ['bearer token, lower-case scheme', async () => ({ authorization: `bearer ${await token('alice2')}` }), 'alice2'],
    ['API key', async () => ({ 'x-api-key': API_KEY }), 'partner-a'],
    ['API key, odd header case', async () => ({ 'X-Api-KEY': API_KEY }), 'partner-a'],
    ['cookie', async () => ({ cookie: 'session=alice' }), 'session=alice'],
    ['Cookie with odd case', async () => ({ CooKie: 'session=alice3' }), 'session=alice3'],
    ['a credential header the gateway does not verify (X-Auth-Token)', async () => ({ 'x-auth-token': 'alice-opaque' }), 'alice-opaque'],
  ];

  it.each(credentials)('%s first, then anonymous: the anonymous caller gets its own answer', async (_n, creds, who) => {
    const path = fresh('cred-first');
    const a = await get(gw.url, `/open/${path}`, await creds());
    expect(a.status).toBe(200);
    expect(a.cache).toBe('BYPASS');
    expect(JSON.stringify(a.body)).toContain(who);
    const anon = await get(gw.url, `/open/${path}`);
    expect(anon.cache).toBe('MISS');
    expect(JSON.stringify(anon.body)).not.toContain(who);
    expect(anon.body['x-user-id']).toBeNull();
    const again = await get(gw.url, `/open/${path}`);
    expect(again.cache).toBe('HIT');
    expect(again.body.n).toBe(anon.body.n);
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });

  it.each(credentials)('anonymous first, then %s: the credentialed caller reaches the upstream', async (_n, creds, who) => {
    const path = fresh('anon-first');
    await get(gw.url, `/open/${path}`);
    const a = await get(gw.url, `/open/${path}`, await creds());
    expect(a.cache).toBe('BYPASS');
    expect(JSON.stringify(a.body)).toContain(who);
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });
});

describe('routes with auth keep one entry per identity', () => {
  it('two JWT users, each served only their own answer', async () => {
    const path = fresh('two-users');
    const alice = { authorization: `Bearer ${await token('alice')}` };
    const bob = { authorization: `Bearer ${await token('bob')}` };
    expect((await get(gw.url, `/mine/${path}`, alice)).cache).toBe('MISS');
    const b1 = await get(gw.url, `/mine/${path}`, bob);
    expect(b1.cache).toBe('MISS');
    expect(b1.body['x-user-id']).toBe('bob');
    const a2 = await get(gw.url, `/mine/${path}`, alice);
    expect(a2.cache).toBe('HIT');
    expect(a2.body['x-user-id']).toBe('alice');
    const b2 = await get(gw.url, `/mine/${path}`, bob);
    expect(b2.cache).toBe('HIT');
    expect(b2.body['x-user-id']).toBe('bob');
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });

  it('same subject with other roles, and JWT vs API key owner of the same name, are different entries', async () => {
    const path = fresh('roles');
    await get(gw.url, `/either/${path}`, { authorization: `Bearer ${await token('partner-a', ['reader'])}` });
    const admin = await get(gw.url, `/either/${path}`, { authorization: `Bearer ${await token('partner-a', ['admin'])}` });
    expect(admin.cache).toBe('MISS');
    expect(admin.body['x-user-roles']).toBe('admin');
    const key = await get(gw.url, `/either/${path}`, { 'x-api-key': API_KEY });
    expect(key.cache).toBe('MISS');
    expect(key.body['x-user-roles']).toBe('partner');
    expect(origin.callsTo(`/${path}`)).toBe(3);
  });

  it('the same user with another session cookie gets another entry', async () => {
    const path = fresh('cookie-on-auth');
    const alice = `Bearer ${await token('alice')}`;
    await get(gw.url, `/mine/${path}`, { authorization: alice, cookie: 'tenant=one' });
    const two = await get(gw.url, `/mine/${path}`, { authorization: alice, cookie: 'tenant=two' });
    expect(two.cache).toBe('MISS');
    expect(two.body.cookie).toBe('tenant=two');
    const again = await get(gw.url, `/mine/${path}`, { authorization: alice, cookie: 'tenant=two' });
    expect(again.cache).toBe('HIT');
    expect(again.body.cookie).toBe('tenant=two');
  });

  it('concurrent misses are coalesced per identity, never across identities', async () => {
    const path = fresh('coalesce');
    const users = ['alice', 'bob', 'carol'];
    const tokens = await Promise.all(users.map((u) => token(u)));
    const all = await Promise.all(
      tokens.flatMap((t, i) => Array.from({ length: 4 }, () => get(gw.url, `/mine/${path}?slowMs=150`, { authorization: `Bearer ${t}` }).then((r) => [users[i], r] as const))),
    );
    for (const [user, r] of all) expect(r.body['x-user-id']).toBe(user);
    expect(origin.callsTo(`/${path}`)).toBe(3);
  });
});

describe('host and steering headers are part of the key', () => {
  it('Host A then Host B: B is a miss and gets its own answer; Host case does not matter', async () => {
    const path = fresh('host');
    const a = await get(gw.url, `/open/${path}`, { host: 'a.example.test' });
    expect(a.body['x-forwarded-host']).toBe('a.example.test');
    const b = await get(gw.url, `/open/${path}`, { host: 'b.example.test' });
    expect(b.cache).toBe('MISS');
    expect(b.body['x-forwarded-host']).toBe('b.example.test');
    const upper = await get(gw.url, `/open/${path}`, { host: 'A.EXAMPLE.TEST' });
    expect(upper.cache).toBe('HIT');
    expect(upper.body.n).toBe(a.body.n);
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });

  const poisons: Array<[string, string]> = [
    ['x-forwarded-host', 'evil.example'],
    ['X-Forwarded-Host', 'EVIL.example'],
    ['forwarded', 'host=evil.example;proto=https'],
    ['x-forwarded-proto', 'evil'],
    ['x-forwarded-prefix', '/evil'],
    ['x-original-url', '/evil'],
    ['x-rewrite-url', '/evil'],
    ['x-host', 'evil.example'],
    ['x-http-method-override', 'DELETE'],
  ];
  it.each(poisons)('%s: %s never comes back to a caller who did not send it', async (name, value) => {
    const path = fresh(`poison-${name}`);
    const poisoned = await get(gw.url, `/open/${path}`, { [name]: value });
    expect(poisoned.status).toBe(200);
    const clean = await get(gw.url, `/open/${path}`);
    expect(clean.cache).toBe('MISS');
    expect(JSON.stringify(clean.body).toLowerCase()).not.toContain('evil');
    expect(clean.body.n).not.toBe(poisoned.body.n);
    const clean2 = await get(gw.url, `/open/${path}`);
    expect(clean2.cache).toBe('HIT');
    expect(JSON.stringify(clean2.body).toLowerCase()).not.toContain('evil');
  });
});

/** Sends request bytes exactly as written (two Host fields) and returns the raw answer head. */
function rawBytes(base: string, text: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(text));
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('requests with no single reading are not cached', () => {
  it('two Host fields: never stored, never served from an entry', async () => {
    const path = fresh('dup-host');
    const dup = await rawBytes(gw.url, `GET /open/${path} HTTP/1.1\r\nHost: a.example.test\r\nHost: b.example.test\r\nConnection: close\r\n\r\n`);
    expect(dup).not.toMatch(/x-cache: (HIT|MISS)/i);
    const clean = await get(gw.url, `/open/${path}`, { host: 'a.example.test' });
    expect(clean.cache).toBe('MISS');
    const dup2 = await rawBytes(gw.url, `GET /open/${path} HTTP/1.1\r\nHost: a.example.test\r\nHost: b.example.test\r\nConnection: close\r\n\r\n`);
    expect(dup2).not.toMatch(/x-cache: HIT/i);
  });

  it.each([
    ['content-length body', { 'content-length': '7' }, 'payload'],
    ['chunked body', { 'transfer-encoding': 'chunked' }, [Buffer.from('payload')]],
  ] as const)('a GET with a %s bypasses the cache', async (_n, headers, body) => {
    const path = fresh('get-body');
    const withBody = await rawRequest(gw.url, `/open/${path}`, { headers: { ...headers }, body: body as string | Buffer[] });
    expect(withBody.headers['x-cache']).toBe('BYPASS');
    const clean = await get(gw.url, `/open/${path}`);
    expect(clean.cache).toBe('MISS');
    expect(clean.body.bodyBytes).toBe(0);
  });
});

describe('Vary', () => {
  it('an encoded answer without Vary: Accept-Encoding is never served to a client that did not ask for that encoding', async () => {
    const path = fresh('gzip-no-vary');
    const gz = await get(gw.url, `/open/${path}?gzip=1`, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const plain = await get(gw.url, `/open/${path}?gzip=1`);
    expect(plain.cache).toBe('MISS');
    const gz2 = await get(gw.url, `/open/${path}?gzip=1`, { 'accept-encoding': 'gzip' });
    expect(gz2.cache).toBe('HIT');
  });

  it('Accept-Language variants are stored side by side', async () => {
    const path = fresh('vary-lang');
    const q = '?vary=Accept-Language';
    const en = await get(gw.url, `/open/${path}${q}`, { 'accept-language': 'en' });
    const fr = await get(gw.url, `/open/${path}${q}`, { 'accept-language': 'fr' });
    expect([en.cache, fr.cache]).toEqual(['MISS', 'MISS']);
    const en2 = await get(gw.url, `/open/${path}${q}`, { 'accept-language': 'en' });
    const fr2 = await get(gw.url, `/open/${path}${q}`, { 'accept-language': 'fr' });
    expect([en2.cache, fr2.cache]).toEqual(['HIT', 'HIT']);
    expect(en2.body['accept-language']).toBe('en');
    expect(fr2.body['accept-language']).toBe('fr');
    const none = await get(gw.url, `/open/${path}${q}`);
    expect(none.cache).toBe('MISS');
    expect(none.body['accept-language']).toBeNull();
    expect(origin.callsTo(`/${path}`)).toBe(3);
  });

  it('Vary on an identity header the gateway sets keeps callers apart on an auth route', async () => {
    const path = fresh('vary-user');
    const a = await get(gw.url, `/either/${path}?vary=X-User-Id`, { authorization: `Bearer ${await token('alice')}` });
    const k = await get(gw.url, `/either/${path}?vary=X-User-Id`, { 'x-api-key': API_KEY });
    expect(a.body['x-user-id']).toBe('alice');
    expect(k.body['x-user-id']).toBe('partner-a');
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });
});

describe('RFC 9111 directives decide what is stored', () => {
  const past = new Date(Date.now() - 60_000).toUTCString();
  const cases: Array<[string, string, boolean]> = [
    ['no directives (route ttlSec applies)', '', true],
    ['public, max-age=60', '?cc=public,max-age=60', true],
    ['s-maxage=60 overrides max-age=0 in a shared cache', '?cc=max-age=0,s-maxage=60', true],
    ['private', '?cc=private', false],
    ['private, max-age=60', '?cc=private,max-age=60', false],
    ['PRIVATE (upper case)', '?cc=PRIVATE', false],
    ['qualified private="set-cookie"', '?cc=private%3D%22set-cookie%22', false],
    ['no-store', '?cc=no-store', false],
    ['No-Store, max-age=60 (mixed case)', '?cc=No-Store,max-age=60', false],
    ['no-cache', '?cc=no-cache', false],
    ['max-age=0', '?cc=max-age=0', false],
    ['s-maxage=0', '?cc=s-maxage=0', false],
    ['must-revalidate', '?cc=max-age=60,must-revalidate', false],
    ['proxy-revalidate', '?cc=max-age=60,proxy-revalidate', false],
    ['max-age given twice (last one would allow)', '?cc=max-age=0,max-age=60', false],
    ['max-age=60 but already Age: 120', '?cc=max-age=60&age=120', false],
    ['invalid max-age', '?cc=max-age=abc', false],
    ['Expires in the past', `?expires=${encodeURIComponent(past)}`, false],
    ['Pragma: no-cache without Cache-Control', '?pragma=no-cache', false],
    ['Set-Cookie', '?setcookie=1', false],
    ['Set-Cookie even with public, max-age=60', '?setcookie=1&cc=public,max-age=60', false],
    ['Vary: *', '?vary=*', false],
    ['Vary: Accept, * ', '?vary=Accept,%20*', false],
  ];
  it.each(cases)('%s', async (_name, query, cached) => {
    const path = fresh('cc');
    const first = await get(gw.url, `/open/${path}${query}`);
    expect(first.status).toBe(200);
    const second = await get(gw.url, `/open/${path}${query}`);
    expect(second.cache).toBe(cached ? 'HIT' : 'MISS');
    expect(origin.callsTo(`/${path}`)).toBe(cached ? 1 : 2);
    if (!cached) expect(second.headers['set-cookie'] === undefined || second.body.n === 2).toBe(true);
  });

  it('a client Cache-Control: no-store request is not stored; no-cache is not served from the cache', async () => {
    const path = fresh('req-cc');
    await get(gw.url, `/open/${path}`, { 'cache-control': 'no-store' });
    expect((await get(gw.url, `/open/${path}`)).cache).toBe('MISS');
    const nc = await get(gw.url, `/open/${path}`, { 'cache-control': 'no-cache' });
    expect(nc.cache).toBe('MISS');
    expect(origin.callsTo(`/${path}`)).toBe(3);
  });

  it('a hit keeps the upstream Cache-Control (never the route default) and carries Age', async () => {
    const path = fresh('headers');
    await get(gw.url, `/open/${path}`);
    const hit = await get(gw.url, `/open/${path}`);
    expect(hit.cache).toBe('HIT');
    expect(hit.headers['cache-control']).toBeUndefined();
    expect(hit.headers.age).toMatch(/^\d+$/);
    const spelled = fresh('headers-case');
    await get(gw.url, `/open/${spelled}?cc=Public,%20Max-Age=60`);
    const hit2 = await get(gw.url, `/open/${spelled}?cc=Public,%20Max-Age=60`);
    expect(hit2.cache).toBe('HIT');
    expect(hit2.headers['cache-control']).toBe('Public, Max-Age=60');
  });
});

describe('bounded by bytes', () => {
  it.each([
    ['with Content-Length', ''],
    ['chunked', '&chunked=1'],
  ])('a body over maxEntryBytes (%s) is streamed whole and not stored', async (_n, extra) => {
    const path = fresh('big');
    const a = await get(gw.url, `/open/${path}?size=40000${extra}`);
    const b = await get(gw.url, `/open/${path}?size=40000${extra}`);
    expect(a.bytes).toBeGreaterThanOrEqual(39_000);
    expect(b.bytes).toBe(a.bytes);
    expect(b.cache).toBe('MISS');
    expect(origin.callsTo(`/${path}`)).toBe(2);
  });

  it('the memory store never holds more than cache.maxBytes', async () => {
    const own = await startOrigin();
    const small = await startCacheGateway(own, { cache: { maxBytes: 65_536, maxEntryBytes: 16_384 } });
    try {
      const entry = 10_000;
      const paths = Array.from({ length: 20 }, (_, i) => `fill-${i}`);
      for (const p of paths) expect((await get(small.url, `/open/${p}?size=${entry}`)).cache).toBe('MISS');
      // Newest first: the entries still held are hits, until the first refill starts evicting.
      let hits = 0;
      for (const p of [...paths].reverse()) if ((await get(small.url, `/open/${p}?size=${entry}`)).cache === 'HIT') hits++;
      expect(hits).toBeGreaterThan(0);
      expect(hits).toBeLessThanOrEqual(Math.floor(65_536 / entry));
      expect(own.callsTo('/fill-0')).toBe(2);
    } finally {
      await small.close();
      await own.close();
    }
  });
});

describe('Vary parsing (property)', () => {
  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
  it('field names are order-, case- and whitespace-insensitive, sorted and unique', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), fc.array(fc.constantFrom(' ', '\t', ''), { maxLength: 6 }), (names, pads) => {
        const spelled = names.map((n, i) => `${pads[i % (pads.length || 1)] ?? ''}${i % 2 ? n.toUpperCase() : n}`).join(',');
        const out = varyFields(spelled);
        const expected = [...new Set(names.map((n) => n.toLowerCase()))].sort();
        expect(out).toEqual(expected);
        expect(varyFields([...names].reverse().join(' ,'))).toEqual(expected);
      }),
    );
  });
  it('a * anywhere means nothing matches', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 5 }), fc.nat(5), (names, at) => {
        const list = [...names];
        list.splice(Math.min(at, list.length), 0, '*');
        expect(varyFields(list.join(', '))).toEqual(['*']);
      }),
    );
  });
  it('different varied values never share a variant key', () => {
    const value = fc.stringMatching(/^[\x20-\x7e]{0,12}$/);
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), value, value, (names, v1, v2) => {
        fc.pre(v1 !== v2);
        const fields = varyFields(names.join(','));
        const k = (v: string) => variantKey('p', fields, { headers: Object.fromEntries(fields.map((f, i) => [f, i === 0 ? v : 'same'])) });
        expect(k(v1)).not.toBe(k(v2));
      }),
    );
  });
});

describe('end to end properties', () => {
  const mixCase = (s: string, mask: number) => [...s].map((c, i) => ((mask >> i % 30) & 1 ? c.toUpperCase() : c)).join('');

  it('a refusing directive in any case, spacing or position keeps the answer out', async () => {
    const refusing = fc.constantFrom('no-store', 'private', 'no-cache', 'must-revalidate', 'proxy-revalidate', 's-maxage=0');
    const harmless = fc.constantFrom('public', 'max-age=60', 'immutable', 'stale-while-revalidate=30');
    await fc.assert(
      fc.asyncProperty(refusing, fc.array(harmless, { maxLength: 3 }), fc.nat(3), fc.integer({ min: 0, max: 2 ** 30 }), fc.constantFrom('', ' ', '  '), async (bad, others, at, mask, pad) => {
        const list: string[] = [...others];
        list.splice(Math.min(at, list.length), 0, mixCase(bad, mask));
        const cc = encodeURIComponent(list.join(`,${pad}`));
        const path = fresh('prop-cc');
        await get(gw.url, `/open/${path}?cc=${cc}`);
        const second = await get(gw.url, `/open/${path}?cc=${cc}`);
        expect(second.cache).toBe('MISS');
      }),
      { numRuns: 25 },
    );
  });

  it('an entry stored for one Host is never served for another', async () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    await fc.assert(
      fc.asyncProperty(label, label, async (h1, h2) => {
        fc.pre(h1 !== h2);
        const path = fresh('prop-host');
        await get(gw.url, `/open/${path}`, { host: `${h1}.test` });
        const other = await get(gw.url, `/open/${path}`, { host: `${h2}.test` });
        expect(other.cache).toBe('MISS');
        expect(other.body['x-forwarded-host']).toBe(`${h2}.test`);
      }),
      { numRuns: 20 },
    );
  });
});

describe.skipIf(noRedis)('redis store', () => {
  const prefix = testPrefix('sec-cache');
  let own: Origin;
  let a: RunningGateway;
  let b: RunningGateway;
  let peek: Redis;
  beforeAll(async () => {
    peek = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    own = await startOrigin();
    a = await startCacheGateway(own, { redis: { url: REDIS_URL, keyPrefix: prefix }, cache: { maxEntryBytes: 16_384 } });
    b = await startCacheGateway(own, { redis: { url: REDIS_URL, keyPrefix: prefix }, cache: { maxEntryBytes: 16_384 } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await own.close();
    await dropPrefix(prefix);
    peek.disconnect();
  });
  const settle = () => new Promise((r) => setTimeout(r, 50));
  /** Keys under the prefix. */
  const keyCount = async () => (await peek.keys(`${prefix}*`)).length;
  /** Waits (up to 3 s) until the store holds more than `n` keys: a write the gateway made in the background has landed. */
  const stored = async (n: number) => {
    const until = Date.now() + 3000;
    while ((await keyCount()) <= n && Date.now() < until) await settle();
  };
  const host = { host: 'shared.example.test' };

  it('token first, then anonymous on another instance: never the token holder\'s answer', async () => {
    const alice = await get(a.url, '/open/r-cred', { ...host, authorization: `Bearer ${await token('alice')}` });
    expect(alice.body['x-user-id']).toBe('alice');
    await settle();
    const before = await keyCount();
    const anon = await get(b.url, '/open/r-cred', host);
    expect(anon.cache).toBe('MISS');
    expect(anon.body['x-user-id']).toBeNull();
    await stored(before);
    const anon2 = await get(a.url, '/open/r-cred', host);
    expect(anon2.cache).toBe('HIT');
    expect(anon2.body['x-user-id']).toBeNull();
  });

  it('two JWT users across instances each get their own entry', async () => {
    const ta = { ...host, authorization: `Bearer ${await token('alice')}` };
    const tb = { ...host, authorization: `Bearer ${await token('bob')}` };
    const before = await keyCount();
    await get(a.url, '/mine/r-two', ta);
    await stored(before);
    const bob = await get(b.url, '/mine/r-two', tb);
    expect(bob.cache).toBe('MISS');
    expect(bob.body['x-user-id']).toBe('bob');
    const alice = await get(b.url, '/mine/r-two', ta);
    expect(alice.cache).toBe('HIT');
    expect(alice.body['x-user-id']).toBe('alice');
    expect(own.callsTo('/r-two')).toBe(2);
  });

  it('an entry over maxEntryBytes is not written to redis', async () => {
    await get(a.url, '/open/r-big?size=40000', host);
    await settle();
    expect((await get(b.url, '/open/r-big?size=40000', host)).cache).toBe('MISS');
    expect(own.callsTo('/r-big')).toBe(2);
  });
});
