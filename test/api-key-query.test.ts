/**
 * `auth.apiKeys.queryParam`: API keys from a query parameter, opt-in. The key authenticates like
 * the header, is taken out of the URL before anything forwards it (in any spelling an upstream
 * would decode to the same name), never reaches a log line, and is not part of a cache key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { captureLogs, type CapturedLogs } from './helpers/log-capture.js';
import { sendJson, startHttpUpstream, type DemoHttpServer } from '../src/demo/http-server.js';
import { takeQueryParam } from '../src/http/query-param.js';

const KEY = 'k-partner-7f3a9c';
const OTHER_KEY = 'k-other-22b1e0';
let up: DemoHttpServer;
/** What the upstream received, newest last. */
const seen: Array<{ url: string; headers: Record<string, unknown> }> = [];

function routes(): unknown[] {
  return [
    { name: 'keyed', match: { pathPrefix: '/k' }, upstream: 'echo', auth: 'apiKey' },
    { name: 'open', match: { pathPrefix: '/o' }, upstream: 'echo' },
    { name: 'cached', match: { pathPrefix: '/c' }, upstream: 'echo', auth: 'apiKey', cache: { ttlSec: 60 } },
  ];
}

function apiKeys(queryParam?: string): Record<string, unknown> {
  return {
    header: 'X-API-Key',
    ...(queryParam ? { queryParam } : {}),
    keys: [
      { key: KEY, owner: 'partner-a', roles: ['partner'] },
      { key: OTHER_KEY, owner: 'partner-b', roles: [] },
    ],
  };
}

beforeAll(async () => {
  up = await startHttpUpstream((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    sendJson(res, 200, { url: req.url });
  });
});
afterAll(async () => {
  await up?.close();
});

describe('with auth.apiKeys.queryParam: api_key', () => {
  let gw: TestGateway;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs('debug');
    gw = await startTestGateway({
      logger: logs.logger,
      configure(c) {
        c.upstreams.echo = { protocol: 'http', targets: [{ url: up.url }] };
        c.auth = { apiKeys: apiKeys('api_key'), failureLimit: false };
        c.routes = routes();
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });

  // Query as sent → what the upstream must receive.
  const SPELLINGS: Array<[string, string]> = [
    [`a=1&api_key=${KEY}&b=2`, '/k/1?a=1&b=2'],
    [`api_key=${KEY}`, '/k/1'],
    [`api%5Fkey=${KEY}&x=%2F`, '/k/1?x=%2F'], // an escaped name is the same name, and other bytes stay as sent
    [`API_KEY=${KEY}`, '/k/1'], // names compared without regard to case
    [`b=2&Api_Key=${encodeURIComponent(KEY)}&&c`, '/k/1?b=2&&c'],
  ];
  it.each(SPELLINGS)('?%s authenticates and reaches the upstream as %s', async (query, upstreamUrl) => {
    const res = await get(`/k/1?${query}`);
    expect(res.status).toBe(200);
    const last = seen.at(-1)!;
    expect(last.url).toBe(upstreamUrl);
    expect(last.headers['x-user-id']).toBe('partner-a');
    expect(last.headers['x-client-id']).toBe('partner-a');
  });

  it('an unknown key in the query is 403 and reaches no upstream', async () => {
    const before = seen.length;
    const res = await get('/k/1?api_key=nope');
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect(seen.length).toBe(before);
  });

  it('no key at all is 401, and the message names both places a key may be', async () => {
    const res = await get('/k/1?a=1');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toContain('?api_key=');
  });

  it('the key sent twice has two readings: 400, nothing forwarded', async () => {
    const before = seen.length;
    const res = await get(`/k/1?api_key=${KEY}&API_KEY=${OTHER_KEY}`);
    expect(res.status).toBe(400);
    expect(seen.length).toBe(before);
  });

  it('the header wins over the query, and the query copy is still removed', async () => {
    const res = await get(`/k/1?api_key=${OTHER_KEY}&z=1`, { 'X-API-Key': KEY });
    expect(res.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('/k/1?z=1');
    expect(seen.at(-1)!.headers['x-user-id']).toBe('partner-a');
  });

  it('is removed on routes without auth too, where it still identifies the caller', async () => {
    const res = await get(`/o/x?api_key=${KEY}&q=1`);
    expect(res.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('/o/x?q=1');
    expect(seen.at(-1)!.headers['x-client-id']).toBe('partner-a');
  });

  it('is no part of the cache key: the same caller by query or by header shares one entry', async () => {
    const before = seen.length;
    const a = await get(`/c/item?api_key=${KEY}&v=1`);
    const b = await get('/c/item?v=1', { 'X-API-Key': KEY });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ url: '/c/item?v=1' });
    expect(seen.length - before).toBe(1);
    // Another key is another identity: its own upstream call.
    await get(`/c/item?api_key=${OTHER_KEY}&v=1`);
    expect(seen.length - before).toBe(2);
  });

  it('works for GraphQL GET and is not left in the URL yoga reads', async () => {
    const res = await get(`/graphql?query=${encodeURIComponent('{ __typename }')}&api_key=${KEY}`, { accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ __typename: 'Query' });
  });

  it('never appears in any log line, and the access log shows the path without it', async () => {
    await get(`/k/logged?api_key=${KEY}`);
    await get(`/k/logged?api_key=${OTHER_KEY}x`); // an unknown key, answered 403
    await new Promise((r) => setTimeout(r, 50));
    const text = logs.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(logs.lines.some((l) => l.type === 'access' && l.path === '/k/logged')).toBe(true);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(OTHER_KEY);
  });
});

describe('off by default', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      configure(c) {
        c.upstreams.echo = { protocol: 'http', targets: [{ url: up.url }] };
        c.auth = { apiKeys: apiKeys(), failureLimit: false };
        c.routes = routes();
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a key in the query is not a credential, and the URL is forwarded as sent', async () => {
    expect((await fetch(`${gw.url}/k/1?api_key=${KEY}`)).status).toBe(401);
    const res = await fetch(`${gw.url}/o/1?api_key=x1`);
    expect(res.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('/o/1?api_key=x1');
    expect(seen.at(-1)!.headers['x-client-id']).not.toBe('partner-a');
  });
});

describe('auth throttle', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      configure(c) {
        c.upstreams.echo = { protocol: 'http', targets: [{ url: up.url }] };
        c.auth = { apiKeys: apiKeys('api_key'), failureLimit: { points: 2, durationSec: 60 } };
        c.routes = routes();
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a client blocked for guessing keys is refused when it moves its guesses into the query', async () => {
    expect((await fetch(`${gw.url}/k/1`, { headers: { 'X-API-Key': 'guess-1' } })).status).toBe(403);
    expect((await fetch(`${gw.url}/k/1`, { headers: { 'X-API-Key': 'guess-2' } })).status).toBe(403);
    // Even the right key is refused while blocked: guessing does not pay.
    expect((await fetch(`${gw.url}/k/1?api_key=${KEY}`)).status).toBe(429);
    expect((await fetch(`${gw.url}/k/1?API%5FKEY=${KEY}`)).status).toBe(429);
  });
});

describe('takeQueryParam, properties', () => {
  const word = fc.stringMatching(/^[a-zA-Z0-9_.~ +%&=-]{0,8}$/);
  const pair = fc.tuple(fc.oneof(word, fc.constantFrom('api_key', 'API_KEY', 'api%5Fkey', 'api%5fKey', 'api_key2', 'xapi_key')), word);

  it('leaves no parameter that decodes to the name, returns exactly its values, and keeps the rest byte for byte', () => {
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), (pairs) => {
        const pieces = pairs.map(([k, v]) => `${k.replace(/[&=]/g, '')}=${v.replace(/&/g, '')}`);
        const query = pieces.join('&');
        const decoded = [...new URLSearchParams(query)];
        const expectedValues = decoded.filter(([k]) => k.toLowerCase() === 'api_key').map(([, v]) => v);
        const taken = takeQueryParam(query, 'api_key');
        expect(taken?.values ?? []).toEqual(expectedValues);
        const rest = taken ? taken.rest : query;
        expect([...new URLSearchParams(rest)].some(([k]) => k.toLowerCase() === 'api_key')).toBe(false);
        expect(rest).toBe(pieces.filter((p) => new URLSearchParams(p).keys().next().value?.toLowerCase() !== 'api_key').join('&'));
      }),
    );
  });
});
