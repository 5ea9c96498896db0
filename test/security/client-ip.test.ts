/**
 * Issue #16, client IP: X-Forwarded-For is walked from the right and believed only as far as
 * trusted proxies vouch for it; what is not an IP address never becomes the client, a rate-limit
 * key, a log field or a metric label. Asserted at our own upstream, in the access log and on /metrics.
 */
import { isIP } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import type { RunningGateway } from '../../src/index.js';
import { canonicalIp, createClientAddressResolver, type TrustProxy } from '../../src/plugins/use-client-ip.js';
import { captureLogs } from '../helpers/log-capture.js';
import { parseSamples } from '../helpers/prom-text.js';
import { startEchoUpstream, startHeadersGateway, type EchoUpstream } from './helpers/headers-gateway.js';

let upstream: EchoUpstream | undefined;
let gw: RunningGateway | undefined;

afterEach(async () => {
  await gw?.close();
  await upstream?.close();
  gw = undefined;
  upstream = undefined;
});

async function start(configure: (c: Record<string, any>) => void, logs?: ReturnType<typeof captureLogs>) {
  upstream = await startEchoUpstream();
  gw = await startHeadersGateway(upstream, { configure, logger: logs?.logger });
  return gw;
}

function get(path: string, xff?: string | string[]): Promise<Response> {
  const headers = new Headers();
  if (Array.isArray(xff)) for (const v of xff) headers.append('x-forwarded-for', v);
  else if (xff !== undefined) headers.set('x-forwarded-for', xff);
  return fetch(`${gw!.url}${path}`, { headers });
}

const LONG = `${Array.from({ length: 1000 }, (_, i) => `6.6.${i >> 8}.${i & 255}`).join(', ')}, 2.2.2.2`;

/** [trustProxy, X-Forwarded-For, client IP, X-Forwarded-For the upstream receives]; the peer is 127.0.0.1. */
const CHAINS: Array<[TrustProxy, string | string[] | undefined, string, string]> = [
  [false, undefined, '127.0.0.1', '127.0.0.1'],
  [false, '1.1.1.1', '127.0.0.1', '127.0.0.1'],
  [false, '1.1.1.1, 10.66.1.1', '127.0.0.1', '127.0.0.1'],
  [true, undefined, '127.0.0.1', '127.0.0.1'],
  [true, '1.1.1.1', '1.1.1.1', '1.1.1.1, 127.0.0.1'],
  [true, '6.6.6.6, 1.1.1.1', '1.1.1.1', '1.1.1.1, 127.0.0.1'],
  [true, '1.1.1.1, 10.66.1.1', '10.66.1.1', '10.66.1.1, 127.0.0.1'],
  [1, '6.6.6.6, 1.1.1.1', '1.1.1.1', '1.1.1.1, 127.0.0.1'],
  [2, '6.6.6.6, 1.1.1.1, 10.0.0.1', '1.1.1.1', '1.1.1.1, 10.0.0.1, 127.0.0.1'],
  [2, '1.1.1.1', '1.1.1.1', '1.1.1.1, 127.0.0.1'],
  [3, '6.6.6.6,1.1.1.1,10.0.0.1,10.0.0.2', '1.1.1.1', '1.1.1.1, 10.0.0.1, 10.0.0.2, 127.0.0.1'],
  [['loopback', '10.0.0.0/8'], '6.6.6.6, 1.1.1.1, 10.0.0.7, 10.0.0.8', '1.1.1.1', '1.1.1.1, 10.0.0.7, 10.0.0.8, 127.0.0.1'],
  [['loopback', '10.0.0.0/8'], '10.0.0.9, 10.0.0.7', '10.0.0.9', '10.0.0.9, 10.0.0.7, 127.0.0.1'],
  [['10.0.0.0/8'], '1.1.1.1', '127.0.0.1', '127.0.0.1'],
  [['127.0.0.1'], '::ffff:1.2.3.4', '1.2.3.4', '1.2.3.4, 127.0.0.1'],
  [['loopback'], '2001:DB8:0:0::1', '2001:db8::1', '2001:db8::1, 127.0.0.1'],
  // Garbage: never a client address; the walk stops and the hop that wrote it is the client.
  [true, 'unknown', '127.0.0.1', '127.0.0.1'],
  [true, '1.1.1.1:80', '127.0.0.1', '127.0.0.1'],
  [true, '[::1]', '127.0.0.1', '127.0.0.1'],
  [true, '[2001:db8::1]:443', '127.0.0.1', '127.0.0.1'],
  [true, ', ,', '127.0.0.1', '127.0.0.1'],
  [true, '1.1.1.1, unknown', '127.0.0.1', '127.0.0.1'],
  [2, '1.1.1.1, unknown', '127.0.0.1', '127.0.0.1'],
  [5, 'unknown, 1.1.1.1', '1.1.1.1', '1.1.1.1, 127.0.0.1'],
  [['loopback'], '1.1.1.1, unknown, 127.0.0.2', '127.0.0.2', '127.0.0.2, 127.0.0.1'],
  [true, '0x7f.0.0.1', '127.0.0.1', '127.0.0.1'],
  [true, '2130706433', '127.0.0.1', '127.0.0.1'],
  [true, '010.1.1.1', '127.0.0.1', '127.0.0.1'],
  [true, '1.1.1', '127.0.0.1', '127.0.0.1'],
  [true, 'fe80::1%eth0', '127.0.0.1', '127.0.0.1'],
  [true, '1.1.1.1;for=2.2.2.2', '127.0.0.1', '127.0.0.1'],
  [true, '"1.1.1.1"', '127.0.0.1', '127.0.0.1'],
  [true, 'a'.repeat(8000), '127.0.0.1', '127.0.0.1'],
  [true, LONG, '2.2.2.2', '2.2.2.2, 127.0.0.1'],
  [2, LONG, `6.6.${999 >> 8}.${999 & 255}`, `6.6.${999 >> 8}.${999 & 255}, 2.2.2.2, 127.0.0.1`],
  // Two header lines are one list (RFC 9110 §5.3): the right-most line is the nearest hop.
  [true, ['6.6.6.6', '1.1.1.1'], '1.1.1.1', '1.1.1.1, 127.0.0.1'],
];

/**
 * One gateway (with its echo upstream and captured logs) per trustProxy setting, started on first
 * use and closed after the calling describe's tests.
 */
function gatewaysByTrust(configure: (config: Record<string, any>, trust: TrustProxy) => void) {
  const byTrust = new Map<string, Promise<{ gw: RunningGateway; upstream: EchoUpstream; logs: ReturnType<typeof captureLogs> }>>();
  afterAll(async () => {
    for (const entry of byTrust.values()) {
      const { gw, upstream } = await entry;
      await gw.close();
      await upstream.close();
    }
  });
  return (trust: TrustProxy) => {
    const key = JSON.stringify(trust);
    let entry = byTrust.get(key);
    if (!entry) {
      entry = (async () => {
        const logs = captureLogs();
        const upstream = await startEchoUpstream();
        const gw = await startHeadersGateway(upstream, { configure: (c) => configure(c, trust), logger: logs.logger });
        return { gw, upstream, logs };
      })();
      byTrust.set(key, entry);
    }
    return entry;
  };
}

describe('X-Forwarded-For chains', () => {
  // One gateway per trustProxy setting, shared by the chains that use it (each case asks its own path).
  const gatewayFor = gatewaysByTrust((c, trust) => (c.server.trustProxy = trust));

  it.each(CHAINS.map((c, i) => [...c, i] as const))('trustProxy %j, X-Forwarded-For %j: client %s, upstream gets %s', async (trust, xff, client, sent, i) => {
    const { gw: g, upstream: up, logs } = await gatewayFor(trust);
    const headers = new Headers();
    if (Array.isArray(xff)) for (const v of xff) headers.append('x-forwarded-for', v);
    else if (xff !== undefined) headers.set('x-forwarded-for', xff);
    const path = `/echo/ip-${i}`;
    const r = await fetch(`${g.url}${path}`, { headers });
    expect(r.status).toBe(200);
    expect(up.last()!.headers['x-forwarded-for']).toBe(sent);
    const line = logs.lines.find((l) => l.type === 'access' && l.path === path);
    expect(line?.clientIp).toBe(client);
    expect(isIP(line!.clientIp as string)).not.toBe(0);
  });

  it('X-Forwarded-Proto / -Host are believed only from a trusted peer, and only when well-formed', async () => {
    await start((c) => (c.server.trustProxy = ['loopback']));
    await fetch(`${gw!.url}/echo/p`, { headers: { 'x-forwarded-proto': 'HTTPS', 'x-forwarded-host': 'app.example.com' } });
    expect(upstream!.last()!.headers['x-forwarded-proto']).toBe('https');
    expect(upstream!.last()!.headers['x-forwarded-host']).toBe('app.example.com');
    for (const [proto, host] of [['javascript', 'a b'], ['https, http', 'evil.test, app.example.com'], ['ftp', 'evil.test/x']]) {
      await fetch(`${gw!.url}/echo/p`, { headers: { 'x-forwarded-proto': proto!, 'x-forwarded-host': host! } });
      expect(upstream!.last()!.headers['x-forwarded-proto']).toBe('http');
      expect(upstream!.last()!.headers['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it('X-Forwarded-Proto / -Host from an untrusted peer are replaced', async () => {
    await start((c) => (c.server.trustProxy = ['10.0.0.0/8']));
    await fetch(`${gw!.url}/echo/p`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' } });
    expect(upstream!.last()!.headers['x-forwarded-proto']).toBe('http');
    expect(upstream!.last()!.headers['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('the IP filter judges the believed client', () => {
  // One gateway per trustProxy setting, shared by the cases that use it (each counts its own request).
  const filteredFor = gatewaysByTrust((c, trust) => {
    c.server.trustProxy = trust;
    c.server.ipFilter = { deny: ['10.66.0.0/16'] };
  });

  it.each([
    [true, '1.1.1.1, 10.66.1.1', 403],
    [true, '10.66.1.1, 1.1.1.1', 200],
    [2, '10.66.1.1, 1.1.1.1', 403],
    [2, '10.66.1.1, 1.1.1.1, 10.0.0.1', 200],
    [2, '1.1.1.1, 10.66.1.1, 10.0.0.1', 403],
    [true, '::ffff:10.66.1.1', 403],
    [true, '::ffff:a42:101', 403],
    [true, 'unknown, 10.66.1.1', 403],
    [false, '10.66.1.1', 200],
  ] as Array<[TrustProxy, string, number]>)('trustProxy %j, X-Forwarded-For %j: %d', async (trust, xff, status) => {
    const { gw: g, upstream: up } = await filteredFor(trust);
    const headers = new Headers({ 'x-forwarded-for': xff });
    const before = up.received.length;
    const r = await fetch(`${g.url}/echo/f`, { headers });
    expect(r.status).toBe(status);
    expect(up.received.length).toBe(before + (status === 200 ? 1 : 0));
  });

  it('an allow list cannot be met by a spoofed left entry', async () => {
    await start((c) => {
      c.server.trustProxy = true;
      c.server.ipFilter = { allow: ['10.0.0.0/8'] };
    });
    expect((await get('/echo/f', '10.1.1.1, 6.6.6.6')).status).toBe(403);
    expect((await get('/echo/f', '6.6.6.6, 10.1.1.1')).status).toBe(200);
  });
});

describe('per-client limits key on the believed client', () => {
  it('rotating the left entries does not give a fresh bucket', async () => {
    await start((c) => {
      c.server.trustProxy = true;
      c.rateLimit = { perClient: { points: 2, durationSec: 60 } };
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get('/echo/l', `203.0.113.${i}, 198.51.100.7`)).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    expect((await get('/echo/l', '198.51.100.8')).status).toBe(200);
    expect(upstream!.received.length).toBe(3);
  });

  it('garbage entries share the bucket of the hop that wrote them; metric and log labels stay IPs', async () => {
    const logs = captureLogs();
    await start((c) => {
      c.server.trustProxy = 3;
      c.rateLimit = { perClient: { points: 1, durationSec: 60 } };
    }, logs);
    const garbage = ['unknown', 'evil"} 1 gateway_x{a="', '1.1.1.1:80', '[::1]', 'x'.repeat(300), '<script>'];
    const statuses: number[] = [];
    for (const g of garbage) statuses.push((await get('/echo/g', `${g}, ${g}`)).status);
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1).every((s) => s === 429)).toBe(true);
    const metrics = await (await fetch(`${gw!.url}/metrics`)).text();
    const ids = parseSamples(metrics).filter((s) => s.name === 'gateway_rate_limit_exceeded_total').map((s) => s.labels.client_id!);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(isIP(id)).not.toBe(0);
    const access = logs.lines.filter((l) => l.type === 'access' && l.path === '/echo/g');
    expect(access).toHaveLength(garbage.length);
    for (const l of access) {
      expect(isIP(l.clientIp as string)).not.toBe(0);
      expect(isIP(l.clientId as string)).not.toBe(0);
    }
  });
});

describe('the client-address walk, as properties', () => {
  const v4 = fc.ipV4();
  const v6 = fc.ipV6();
  const mapped = v4.map((a) => `::ffff:${a}`);
  const garbage = fc.constantFrom('unknown', '[::1]', '1.1.1.1:80', '0x7f.1', '2130706433', '01.2.3.4', 'fe80::1%eth0', '_hidden', 'a.b.c.d', '1.1.1');
  const entry = fc.oneof(v4, v4, v6, mapped, garbage, fc.constantFrom('10.0.0.1', '10.9.9.9', '127.0.0.1', '::1'));
  const trust: fc.Arbitrary<TrustProxy> = fc.oneof(
    fc.boolean(),
    fc.integer({ min: 0, max: 6 }),
    fc.subarray(['10.0.0.0/8', 'loopback', '192.0.2.0/24', '::1', 'uniquelocal', '2001:db8::/32'], { minLength: 1 }),
  );
  const peer = fc.oneof(v4, v6, mapped, fc.constantFrom('127.0.0.1', '10.0.0.1', '::ffff:127.0.0.1'));

  /** Independent reading of the rule: walk from the peer while the hop is a valid, trusted address. */
  function expected(t: TrustProxy, peerAddr: string, chain: string[]): string {
    const hops = [peerAddr, ...[...chain].reverse()];
    const trusted = (a: string, i: number): boolean => {
      const c = canonicalIp(a);
      if (c === undefined || t === false || t === 0) return false;
      if (t === true) return i < 1;
      if (typeof t === 'number') return i < t;
      const addr = ipaddr.parse(c);
      return (t as string[]).some((e) => {
        const ranges = e === 'loopback' ? ['127.0.0.0/8', '::1/128'] : e === 'uniquelocal' ? ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'] : [e.includes('/') ? e : `${e}/${e.includes(':') ? 128 : 32}`];
        return ranges.some((r) => {
          const [net, bits] = ipaddr.parseCIDR(r);
          return net.kind() === addr.kind() && addr.match(net, bits);
        });
      });
    };
    let i = 0;
    while (i < hops.length - 1 && trusted(hops[i]!, i)) i++;
    const stop = canonicalIp(hops[i]) ?? canonicalIp(hops[i - 1]!);
    return stop!;
  }

  it('the client is the first untrusted hop from the right (or the hop before garbage), always a canonical IP', () => {
    fc.assert(
      fc.property(trust, peer, fc.array(entry, { maxLength: 8 }), (t, p, chain) => {
        const resolve = createClientAddressResolver(t);
        const req = { headers: chain.length ? { 'x-forwarded-for': chain.join(', ') } : {}, socket: { remoteAddress: p } };
        const r = resolve(req as never);
        expect(isIP(r.ip)).not.toBe(0);
        expect(canonicalIp(r.ip)).toBe(r.ip);
        expect(r.ip).toBe(expected(t, p, chain));
        // What goes upstream: the client, then only hops the walk passed, the peer last.
        expect(r.chain.hops[0]).toBe(r.ip);
        expect(r.chain.hops.at(-1)).toBe(canonicalIp(p));
        for (const h of r.chain.hops) expect(canonicalIp(h)).toBe(h);
        if (t === false || t === 0) {
          expect(r.ip).toBe(canonicalIp(p));
          expect(r.chain.hops).toEqual([canonicalIp(p)]);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('nothing left of the first untrusted hop is ever read: replacing it changes nothing', () => {
    fc.assert(
      fc.property(trust, peer, fc.array(entry, { maxLength: 8 }), fc.array(entry, { minLength: 1, maxLength: 4 }), (t, p, chain, prefix) => {
        const resolve = createClientAddressResolver(t);
        const run = (c: string[]) => resolve({ headers: { 'x-forwarded-for': c.join(', ') }, socket: { remoteAddress: p } } as never);
        const base = run(chain);
        // The walk believed hops.length - 1 entries from the right; the one left of those stopped it
        // (an untrusted client, or garbage). Everything further left is the client's own writing.
        const free = chain.length - base.chain.hops.length;
        fc.pre(free >= 1);
        const altered = run([...prefix, ...chain.slice(free)]);
        expect(altered.ip).toBe(base.ip);
        expect(altered.chain.hops).toEqual(base.chain.hops);
      }),
      { numRuns: 2000 },
    );
  });

  it('canonicalIp accepts only addresses, and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6, mapped, garbage, fc.string({ maxLength: 50 })), (s) => {
        const c = canonicalIp(s);
        if (c === undefined) return;
        expect(isIP(c)).not.toBe(0);
        expect(canonicalIp(c)).toBe(c);
        expect(c).not.toMatch(/^::ffff:\d/i);
      }),
      { numRuns: 3000 },
    );
  });
});
