/**
 * Credential guessing is throttled per client IP (`auth.failureLimit`): after N failed
 * authentications in a window, every request from that client carrying a credential gets 429
 * with Retry-After, valid credentials included, until the window ends. Successes are never
 * counted; requests without credentials are never refused by it.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { failureKey } from '../../src/plugins/use-auth-throttle.js';
import { mint } from '../helpers/jwks.js';
import { configFrom } from '../helpers/gateway.js';
import { startMiscGateway, type MiscGateway } from './helpers/misc-gateway.js';

const SECRET = 'auth-throttle-test-secret-0123456789abcdefgh';
const OTHER_SECRET = 'not-the-gateway-secret-0123456789abcdefghij';
const API_KEY = 'partner-key-0123456789abcdef';

let gw: MiscGateway | undefined;
/** The gateway the failure kinds share (closed after the file, not after each test). */
let shared: MiscGateway | undefined;
afterEach(async () => {
  if (gw !== shared) await gw?.close();
  gw = undefined;
});
afterAll(async () => {
  await shared?.close();
});

async function start(failureLimit: unknown = { points: 3, durationSec: 60 }) {
  gw = await startThrottled(failureLimit);
  return gw;
}

function startThrottled(failureLimit: unknown = { points: 3, durationSec: 60 }) {
  return startMiscGateway((c) => {
    c.server.trustProxy = true; // lets each test speak as several client IPs (X-Forwarded-For)
    c.auth = {
      jwt: { algorithms: ['HS256'], secret: SECRET },
      apiKeys: { header: 'X-API-Key', keys: [{ key: API_KEY, owner: 'partner', roles: [] }] },
      failureLimit,
    };
  });
}

async function call(path: string, ip: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw!.url}${path}`, { headers: { 'x-forwarded-for': ip, ...headers } });
  await res.arrayBuffer();
  return res;
}

const valid = () => mint({ sub: 'alice' }, SECRET, { expiresIn: '5m' });

/** Every way a guess can fail; each must count. */
const FAILURES: Array<[string, () => Promise<Record<string, string>>]> = [
  ['a token signed with another secret', async () => ({ authorization: `Bearer ${await mint({ sub: 'alice' }, OTHER_SECRET, { expiresIn: '5m' })}` })],
  ['an expired token', async () => ({ authorization: `Bearer ${await mint({ sub: 'alice' }, SECRET, { expiresIn: -60 })}` })],
  ['a garbage bearer token', async () => ({ authorization: 'Bearer abc.def.ghi' })],
  ['an unsigned token (alg none)', async () => ({ authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.` })],
  ['a Basic authorization header', async () => ({ authorization: 'Basic YWxpY2U6cGFzc3dvcmQ=' })],
  ['an empty bearer', async () => ({ authorization: 'Bearer ' })],
  ['an unknown API key', async () => ({ 'x-api-key': 'guess-0001' })],
  ['an API key in another case spelling of the header', async () => ({ 'X-Api-KEY': 'guess-0002' })],
];

describe('auth failure throttle', () => {
  // One gateway for these cases, each guessing from a client address of its own.
  it.each(FAILURES.map((f, i) => [...f, i] as const))('%s counts: the limit blocks even a valid token, with Retry-After', async (_name, bad, n) => {
    shared ??= await startThrottled();
    gw = shared;
    const ip = `203.0.113.${100 + n}`;
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await call(`/echo/guess${i}`, ip, await bad())).status);
    expect(first.every((s) => s === 401 || s === 403)).toBe(true);
    const before = gw!.echo.received.length;
    for (const headers of [await bad(), { authorization: `Bearer ${await valid()}` }, { 'x-api-key': API_KEY }]) {
      const res = await call('/echo/blocked', ip, headers);
      expect(res.status).toBe(429);
      const retry = Number(res.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
    }
    expect(gw!.echo.received.length).toBe(before); // nothing blocked reached the upstream
    // Without a credential the client is still served; another client is untouched.
    expect((await call('/echo/anonymous', ip)).status).toBe(200);
    expect((await call('/echo/other', '203.0.113.11', { authorization: `Bearer ${await valid()}` })).status).toBe(200);
    expect(gw!.echo.received.map((r) => r.url).slice(before)).toEqual(['/echo/anonymous', '/echo/other']);
  });

  it('successful authentications are never counted', async () => {
    await start({ points: 2, durationSec: 60 });
    const token = await valid();
    for (let i = 0; i < 15; i++) {
      expect((await call('/echo/ok', '203.0.113.20', { authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await call('/echo/ok', '203.0.113.20', { 'x-api-key': API_KEY })).status).toBe(200);
    }
    expect((await call('/echo/bad', '203.0.113.20', { 'x-api-key': 'nope' })).status).toBe(403);
    expect((await call('/echo/ok', '203.0.113.20', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('counts failures on /graphql too, and blocks there', async () => {
    await start({ points: 2, durationSec: 60 });
    const post = (headers: Record<string, string>) =>
      fetch(`${gw!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.30', ...headers }, body: '{"query":"{ hello }"}' });
    expect((await post({ authorization: 'Bearer nope.nope.nope' })).status).toBe(401);
    expect((await post({ 'x-api-key': 'nope' })).status).toBe(403);
    const blocked = await post({ authorization: `Bearer ${await valid()}` });
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
  });

  it('the block ends with the window', async () => {
    await start({ points: 1, durationSec: 1 });
    expect((await call('/echo/a', '203.0.113.40', { 'x-api-key': 'nope' })).status).toBe(403);
    expect((await call('/echo/a', '203.0.113.40', { 'x-api-key': API_KEY })).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await call('/echo/a', '203.0.113.40', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it('IPv6 clients are counted per /64', async () => {
    await start({ points: 2, durationSec: 60 });
    expect((await call('/echo/a', '2001:db8:1:2::1', { 'x-api-key': 'nope' })).status).toBe(403);
    expect((await call('/echo/a', '2001:db8:1:2::ffff', { 'x-api-key': 'nope' })).status).toBe(403);
    expect((await call('/echo/a', '2001:db8:1:2:aaaa::7', { 'x-api-key': API_KEY })).status).toBe(429);
    expect((await call('/echo/a', '2001:db8:1:3::1', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it('failureLimit: false turns the throttle off', async () => {
    await start(false);
    for (let i = 0; i < 15; i++) expect((await call('/echo/a', '203.0.113.50', { 'x-api-key': `nope${i}` })).status).toBe(403);
    expect((await call('/echo/a', '203.0.113.50', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it('is on by default: 10 failures per 60 s', () => {
    const config = configFrom({ upstreams: { echo: { targets: [{ url: 'http://127.0.0.1:9' }] } } });
    expect(config.auth.failureLimit).toEqual({ points: 10, durationSec: 60 });
  });

  it('property: failureKey is the IPv4 address, or the same key for every address of one IPv6 /64', () => {
    const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    fc.assert(fc.property(v6, v6, (a, b) => {
      const host = (p: number[]) => p.map((x) => x.toString(16)).join(':');
      const sameNet = [...a.slice(0, 4), ...b.slice(4)];
      expect(failureKey(host(sameNet))).toBe(failureKey(host(a)));
      if (a.slice(0, 4).join() !== b.slice(0, 4).join()) expect(failureKey(host(a))).not.toBe(failureKey(host(b)));
    }));
    fc.assert(fc.property(fc.ipV4(), (ip) => {
      expect(failureKey(ip)).toBe(ip.split('.').map(Number).join('.'));
      expect(failureKey(`::ffff:${ip}`)).toBe(failureKey(ip));
    }));
  });
});
