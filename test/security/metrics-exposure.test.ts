/**
 * `/metrics` names clients (JWT subjects, IPs) and operations: only `server.metricsAllow` may
 * read it, on the main port and on `server.metricsPort`, and no label value a client chooses
 * can make it large.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MAX_LABEL_CHARS, TRUNCATED_MARK, BoundedLabel, capLabel } from '../../src/telemetry/metrics.js';
import { rawRequest } from '../helpers/raw-http.js';
import { mint } from '../helpers/jwks.js';
import { startMiscGateway, type MiscGateway } from './helpers/misc-gateway.js';

const SECRET = 'metrics-exposure-test-secret-0123456789abcdef';
const NOT_LOOPBACK = ['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8'];

let gw: MiscGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function scrape(base: string, path = '/metrics', headers: Record<string, string> = {}) {
  return rawRequest(base, path, { headers });
}

const gql = (url: string, query: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe('who may read /metrics', () => {
  it('by default, loopback reads it', async () => {
    gw = await startMiscGateway();
    const res = await scrape(gw.url);
    expect(res.status).toBe(200);
    expect(res.body).toContain('gateway_requests_total');
  });

  // Every spelling a client might try from an address outside the list.
  const attempts: Array<[string, string, Record<string, string>]> = [
    ['plain', '/metrics', {}],
    ['with a query', '/metrics?format=text', {}],
    ['HEAD-like accept header', '/metrics', { accept: 'application/openmetrics-text' }],
    ['X-Forwarded-For of an allowed address', '/metrics', { 'x-forwarded-for': '10.0.0.1' }],
    ['X-Real-IP of an allowed address', '/metrics', { 'x-real-ip': '10.0.0.1' }],
    ['Forwarded of an allowed address', '/metrics', { forwarded: 'for=10.0.0.1' }],
    ['Host of an allowed address', '/metrics', { host: '10.0.0.1' }],
    ['double slash', '//metrics', {}],
    ['upper case', '/METRICS', {}],
    ['encoded letter', '/%6detrics', {}],
    ['trailing slash', '/metrics/', {}],
    ['dot segment', '/x/../metrics', {}],
  ];
  // One gateway for every attempt: a refused scrape changes nothing a later attempt could see.
  let outside: Promise<MiscGateway> | undefined;
  afterAll(async () => {
    await (await outside)?.close();
  });
  it.each(attempts)('outside metricsAllow, %s never gets the exposition', async (_name, path, headers) => {
    outside ??= startMiscGateway((c) => (c.server.metricsAllow = NOT_LOOPBACK));
    const g = await outside;
    await fetch(`${g.url}/echo/warm`).then((r) => r.arrayBuffer());
    const res = await scrape(g.url, path, headers);
    expect(res.status).not.toBe(200);
    expect(res.body).not.toContain('gateway_requests_total');
    if (path === '/metrics' || path === '/metrics?format=text') {
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('an empty metricsAllow lets nobody read it', async () => {
    gw = await startMiscGateway((c) => (c.server.metricsAllow = []));
    expect((await scrape(gw.url)).status).toBe(403);
  });

  it('a single address (no prefix) and an IPv4-mapped peer are matched', async () => {
    gw = await startMiscGateway((c) => (c.server.metricsAllow = ['127.0.0.1']));
    expect((await scrape(gw.url)).status).toBe(200);
  });

  it('on server.metricsPort: the same list applies', async () => {
    gw = await startMiscGateway((c) => {
      c.server.metricsPort = 0;
      c.server.metricsAllow = NOT_LOOPBACK;
    });
    const port = await (gw.gateway.plugins.find((p) => p.name === 'metrics') as any).metricsPortBound;
    const res = await scrape(`http://127.0.0.1:${port}`);
    expect(res.status).toBe(403);
    expect(res.body).not.toContain('gateway_');
  });

  it('on server.metricsPort: loopback reads it by default; forwarding headers are refused', async () => {
    gw = await startMiscGateway((c) => (c.server.metricsPort = 0));
    const port = await (gw.gateway.plugins.find((p) => p.name === 'metrics') as any).metricsPortBound;
    const ok = await scrape(`http://127.0.0.1:${port}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('gateway_requests_total');
    expect((await scrape(`http://127.0.0.1:${port}`, '/metrics', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
  });

  it('behind no trusted proxy, a forwarded request from an allowed peer is refused (an unknown proxy in front)', async () => {
    gw = await startMiscGateway();
    const spellings: Array<Record<string, string>> = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }, { 'X-Forwarded-For': '127.0.0.1' }];
    for (const headers of spellings) {
      const res = await scrape(gw.url, '/metrics', headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
  });

  it('behind a trusted proxy, the client address must be allowed too', async () => {
    gw = await startMiscGateway((c) => (c.server.trustProxy = true));
    expect((await scrape(gw.url, '/metrics', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
    expect((await scrape(gw.url, '/metrics', { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
  });
});

describe('label values are bounded in length', () => {
  it('a 100 KB operation name is cut and marked; /metrics stays small', async () => {
    gw = await startMiscGateway();
    const name = `Op${'A'.repeat(100_000)}`;
    const res = await gql(gw.url, `query ${name} { hello }`);
    expect(res.status).toBe(200);
    expect((await res.json()).data.hello).toBe('hello world');
    const text = (await scrape(gw.url)).body;
    expect(text).toContain(`operation_name="${name.slice(0, MAX_LABEL_CHARS)}${TRUNCATED_MARK}"`);
    expect(text).not.toContain('A'.repeat(MAX_LABEL_CHARS));
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024);
  });

  it('many long operation names: count and length caps together bound the exposition', async () => {
    gw = await startMiscGateway();
    for (let i = 0; i < 510; i++) {
      const r = await gql(gw.url, `query N${i}_${'x'.repeat(500)} { hello }`);
      await r.arrayBuffer();
    }
    const text = (await scrape(gw.url)).body;
    const opLines = text.split('\n').filter((l) => l.startsWith('gateway_graphql_operations_total{'));
    expect(opLines.length).toBeLessThanOrEqual(501);
    expect(opLines.some((l) => l.includes('operation_name="other"'))).toBe(true);
    for (const l of opLines) expect(l.length).toBeLessThan(MAX_LABEL_CHARS + 200);
  }, 60_000);

  it('a long JWT subject is cut in gateway_rate_limit_exceeded_total', async () => {
    gw = await startMiscGateway((c) => {
      c.auth = { jwt: { algorithms: ['HS256'], secret: SECRET } };
      c.rateLimit = { perClient: { points: 1, durationSec: 60 } };
    });
    // Subjects over 256 characters are refused at identity (test/security/headers.test.ts); the longest accepted one is still cut here.
    const sub = `user-${'s'.repeat(250)}`;
    const token = await mint({ sub }, SECRET, { expiresIn: '5m' });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${gw.url}/echo/${i}`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      statuses.push(r.status);
    }
    expect(statuses).toEqual([200, 429]);
    const text = (await scrape(gw.url)).body;
    expect(text).toContain(`client_id="${sub.slice(0, MAX_LABEL_CHARS)}${TRUNCATED_MARK}"`);
    expect(text).not.toContain('s'.repeat(MAX_LABEL_CHARS));
  });

  it('property: capLabel keeps short values, cuts long ones to a marked prefix, never splits a pair', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (v) => {
      const out = capLabel(v);
      if (v.length <= MAX_LABEL_CHARS) return void expect(out).toBe(v);
      expect(out.endsWith(TRUNCATED_MARK)).toBe(true);
      const kept = out.slice(0, -TRUNCATED_MARK.length);
      expect(v.startsWith(kept)).toBe(true);
      expect(kept.length).toBeLessThanOrEqual(MAX_LABEL_CHARS);
      expect(kept.length).toBeGreaterThanOrEqual(MAX_LABEL_CHARS - 1);
      const lastCode = kept.charCodeAt(kept.length - 1);
      expect(lastCode >= 0xd800 && lastCode <= 0xdbff).toBe(false);
    }), { numRuns: 500 });
  });

  it('BoundedLabel stores the cut value, so distinct long values with one prefix share a series', () => {
    const label = new BoundedLabel(2);
    const a = label.value(`${'p'.repeat(200)}a`);
    const b = label.value(`${'p'.repeat(200)}b`);
    expect(a).toBe(b);
    expect(label.value('short')).toBe('short');
    expect(label.value('third')).toBe('other');
  });
});
