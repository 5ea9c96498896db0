/**
 * Issue #16, headers: identity and forwarding headers a client sends never reach the upstream in
 * any spelling; roles are forwarded unambiguously; Host is refused when it has two readings;
 * X-Request-Id is echoed only when it is 1–128 visible ASCII. Asserted at our own upstream.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RunningGateway } from '../../src/index.js';
import { isReservedHeader } from '../../src/proxy/forward-headers.js';
import { isValidHost, splitHost } from '../../src/plugins/use-host-check.js';
import { isValidRequestId } from '../../src/plugins/use-request-id.js';
import { isForwardableRole } from '../../src/config/identity-values.js';
import { configFrom } from '../helpers/gateway.js';
import { rawStatus, signToken, startEchoUpstream, startHeadersGateway, type EchoUpstream } from './helpers/headers-gateway.js';

/** Every name the gateway reserves (documented list), in its canonical spelling. */
const IDENTITY = ['x-user-id', 'x-user-roles', 'x-client-id'];
const FORWARDING = [
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-forwarded-port', 'x-forwarded-prefix',
  'x-forwarded-server', 'x-forwarded-ssl', 'x-forwarded-scheme', 'x-forwarded-uri', 'x-forwarded-path',
  'x-original-forwarded-for', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
  'x-cluster-client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host',
];
/** Client-certificate headers of TLS-terminating proxies: a client must not vouch for its own certificate. */
const CLIENT_CERT = [
  'x-forwarded-client-cert', 'x-ssl-client-cert', 'x-ssl-client-verify', 'x-ssl-client-s-dn',
  'x-ssl-client-dn', 'ssl-client-cert', 'x-client-cert', 'x-client-verify',
];
const RESERVED = [...IDENTITY, ...FORWARDING, ...CLIENT_CERT, 'x-request-id', 'traceparent', 'host'];

/** The spellings a CGI/WSGI/PHP/Rack server would read as the same header. */
function spellings(name: string): string[] {
  const words = name.split('-');
  const title = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('-');
  const out = new Set([
    name,
    name.toUpperCase(),
    title,
    name.replaceAll('-', '_'),
    title.replaceAll('-', '_'),
    name.toUpperCase().replaceAll('-', '_'),
    name.replaceAll('-', '.'),
  ]);
  // Mixed separators: the first `-` as `_`, the rest kept (and the other way round).
  if (words.length > 2) {
    out.add(name.replace('-', '_'));
    out.add(name.replaceAll('-', '_').replace('_', '-'));
  }
  return [...out].filter((s) => s !== name || words.length > 0);
}

const normalise = (n: string) => n.toLowerCase().replace(/[_.]/g, '-');

let upstream: EchoUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gw = await startHeadersGateway(upstream, {
    configure: (c) => {
      c.routes.push({ name: 'admin', match: { pathPrefix: '/echo-admin' }, upstream: 'echo', auth: 'jwt', roles: ['admin'] });
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

/** GET through node:http, which sends header names as written and arrays as repeated lines. */
function send(path: string, headers: Record<string, string | string[]>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Names the upstream received that an upstream would read as `canonical`. */
function arrivedAs(canonical: string): string[] {
  return upstream.last()!.names.filter((n) => normalise(n) === canonical);
}

describe('identity headers from the client never pass, in any spelling', () => {
  const rows = IDENTITY.flatMap((name) => spellings(name).map((spelling) => [name, spelling] as const));

  it.each(rows)('%s spelled %s: anonymous request', async (canonical, spelling) => {
    const before = upstream.received.length;
    const r = await send('/echo/anon', { [spelling]: 'admin', 'x-probe': spelling });
    expect(r.status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
    expect(upstream.last()!.headers['x-probe']).toBe(spelling);
    expect(arrivedAs(canonical)).toEqual([]);
  });

  it.each(rows)('%s spelled %s: verified identity wins, sent once', async (canonical, spelling) => {
    const token = await signToken({ sub: 'u-1', roles: ['reader'] });
    const r = await send('/echo/jwt', { authorization: `Bearer ${token}`, [spelling]: 'admin' });
    expect(r.status).toBe(200);
    const expected = { 'x-user-id': 'u-1', 'x-user-roles': 'reader', 'x-client-id': 'u-1' }[canonical];
    expect(arrivedAs(canonical)).toEqual([canonical]);
    expect(upstream.last()!.headers[canonical]).toBe(expected);
  });

  it.each([
    ['two lines, same name', { 'X-User-Roles': ['admin', 'root'] }],
    ['dash and underscore together', { 'X-User-Roles': 'admin', X_User_Roles: 'root' }],
    ['underscore and dot together', { x_user_id: 'admin', 'x.user.id': 'root' }],
    ['padded value', { X_Client_Id: '  admin  ' }],
    ['every spelling at once', Object.fromEntries(spellings('x-user-roles').map((s) => [s, 'admin']))],
  ])('%s', async (_label, headers) => {
    await send('/echo/dup', headers as Record<string, string | string[]>);
    for (const name of IDENTITY) expect(arrivedAs(name)).toEqual([]);
  });

  it('a name padded with spaces is refused by the server, never forwarded', async () => {
    for (const line of [' X-User-Roles: admin', 'X-User-Roles : admin', 'X_User_Roles\t: admin']) {
      const before = upstream.received.length;
      const r = await rawStatus(gw.url, `GET /echo/pad HTTP/1.1\r\nHost: a.test\r\n${line}\r\nConnection: close\r\n\r\n`);
      if (upstream.received.length > before) expect(arrivedAs('x-user-roles')).toEqual([]);
      else expect(r.status).toBe(400);
    }
  });
});

describe('forwarding and client-address headers from the client never pass', () => {
  const rows = FORWARDING.flatMap((name) => spellings(name).map((spelling) => [name, spelling] as const));

  it.each(rows)('%s spelled %s', async (canonical, spelling) => {
    await send('/echo/fwd', { [spelling]: canonical === 'forwarded' ? 'for=6.6.6.6;proto=https' : '6.6.6.6' });
    const h = upstream.last()!;
    const seen = arrivedAs(canonical);
    if (canonical === 'x-forwarded-for' || canonical === 'x-forwarded-proto' || canonical === 'x-forwarded-host') {
      // Set by the gateway only, once, from the connection.
      expect(seen).toEqual([canonical]);
      expect(String(h.headers[canonical])).not.toContain('6.6.6.6');
    } else {
      expect(seen).toEqual([]);
    }
    expect(JSON.stringify(h.headers)).not.toContain('6.6.6.6');
  });

  it.each(CLIENT_CERT.flatMap((name) => spellings(name).map((spelling) => [name, spelling] as const)))('client-certificate header %s spelled %s', async (canonical, spelling) => {
    await send('/echo/fwd', { [spelling]: 'Hash=6.6.6.6;Subject="CN=admin";URI=spiffe://evil' });
    expect(arrivedAs(canonical)).toEqual([]);
    expect(JSON.stringify(upstream.last()!.headers)).not.toContain('6.6.6.6');
  });

  it('the gateway sets X-Forwarded-For / -Proto / -Host from the connection and the checked Host', async () => {
    await send('/echo/fwd', { host: 'Shop.Example.com:8080', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' });
    const h = upstream.last()!.headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('Shop.Example.com:8080');
  });
});

describe('roles are forwarded unambiguously', () => {
  it.each([
    [['reader', 'admin,user'], 'reader'],
    [['a b', 'ok'], 'ok'],
    [['ok', 'x'.repeat(129)], 'ok'],
    [['ünï', 'ok'], 'ok'],
    [['ok', ''], 'ok'],
    [['ok', 'tab\there'], 'ok'],
    ['ops, dev admin', 'ops,dev,admin'],
    [['a;b', 'c=d'], 'a;b,c=d'],
  ])('roles claim %j goes upstream as %s', async (roles, expected) => {
    const token = await signToken({ sub: 'u-2', roles });
    const r = await send('/echo/roles', { authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    expect(upstream.last()!.headers['x-user-roles']).toBe(expected);
  });

  it('a role hidden in a comma-joined entry is not granted', async () => {
    const token = await signToken({ sub: 'u-3', roles: ['user,admin'] });
    const before = upstream.received.length;
    const r = await send('/echo-admin/x', { authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect(upstream.received.length).toBe(before);
    const ok = await send('/echo-admin/x', { authorization: `Bearer ${await signToken({ sub: 'u-3', roles: ['user', 'admin'] })}` });
    expect(ok.status).toBe(200);
  });

  it('GraphQL resolver calls carry the same filtered roles and no client copy', async () => {
    const token = await signToken({ sub: 'u-4', roles: ['reader', 'root,admin'] });
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, X_User_Roles: 'root' },
      body: JSON.stringify({ query: '{ received { userId userRoles clientId } }' }),
    });
    const body = (await res.json()) as { data: { received: Record<string, string> } };
    expect(body.data.received).toEqual({ userId: 'u-4', userRoles: 'reader', clientId: 'u-4' });
    expect(upstream.last()!.names.filter((n) => normalise(n) === 'x-user-roles')).toEqual(['x-user-roles']);
  });

  it.each(['a,b', 'with space', '', 'ü'])('an API key role %j is a config error naming its path', (role) => {
    const cfg = {
      upstreams: { echo: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] } },
      auth: { apiKeys: { keys: [{ key: 'k', owner: 'o', roles: ['fine', role] }] } },
    };
    expect(() => configFrom(cfg)).toThrow(/auth\.apiKeys\.keys/);
  });

  it.each(['admin,root', ' admin'])('a route role %j that no identity can hold is a config error naming its path', (role) => {
    const cfg = {
      upstreams: { echo: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] } },
      routes: [{ name: 'r', match: { pathPrefix: '/r' }, upstream: 'echo', roles: [role] }],
    };
    expect(() => configFrom(cfg)).toThrow(/routes\[0\]\.roles\[0\]/);
  });

  it('property: an accepted role never contains a separator or a non-visible character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (s) => {
        if (isForwardableRole(s)) expect(s).toMatch(/^[\x21-\x2b\x2d-\x7e]{1,128}$/);
        expect([s, 'ok'].filter(isForwardableRole).join(',').split(',').filter(isForwardableRole).length).toBe(isForwardableRole(s) ? 2 : 1);
      }),
    );
  });
});

describe('subjects reach the upstream verbatim or not at all', () => {
  it.each(['auth0|123', 'user@example.com', 'a,b', 'inner space', 'x'.repeat(256)])('sub %j is forwarded exactly', async (sub) => {
    const r = await send('/echo/sub', { authorization: `Bearer ${await signToken({ sub, roles: [] })}` });
    expect(r.status).toBe(200);
    expect(upstream.last()!.headers['x-user-id']).toBe(sub);
    expect(upstream.last()!.headers['x-client-id']).toBe(sub);
  });

  it.each(['a\r\nx-evil: 1', 'a\nb', 'nul\u0000', '\u65e5\u672c', '\u00fc', ' padded', 'padded ', '', 'x'.repeat(257), 'tab\there'])(
    'sub %j: 401, nothing reaches the upstream',
    async (sub) => {
      const before = upstream.received.length;
      const r = await send('/echo/sub', { authorization: `Bearer ${await signToken({ sub, roles: ['r'] })}` });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body).code).toBe('UNAUTHENTICATED');
      expect(upstream.received.length).toBe(before);
    },
  );

  it.each([' lead', 'a\nb', '\u00fc', ''])('an API key owner %j is a config error naming its path', (owner) => {
    const cfg = {
      upstreams: { echo: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }] } },
      auth: { apiKeys: { keys: [{ key: 'k', owner, roles: [] }] } },
    };
    expect(() => configFrom(cfg)).toThrow(/auth\.apiKeys\.keys/);
  });
});

describe('Host is refused when it has two readings', () => {
  const head = (target: string, lines: string[], version = '1.1') => `GET ${target} HTTP/${version}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`;

  it.each([
    ['two Host headers', '/echo/h', ['Host: a.test', 'Host: evil.test']],
    ['two Host headers, same value', '/echo/h', ['Host: a.test', 'Host: a.test']],
    ['two Host headers, different case', '/echo/h', ['Host: a.test', 'hOST: evil.test']],
    ['no Host on HTTP/1.1', '/echo/h', []],
    ['empty Host', '/echo/h', ['Host: ']],
    ['space inside', '/echo/h', ['Host: a .test']],
    ['comma list', '/echo/h', ['Host: a.test,evil.test']],
    ['userinfo', '/echo/h', ['Host: user@evil.test']],
    ['percent-encoded', '/echo/h', ['Host: ev%69l.test']],
    ['path in host', '/echo/h', ['Host: a.test/evil']],
    ['port too large', '/echo/h', ['Host: a.test:65536']],
    ['port not a number', '/echo/h', ['Host: a.test:80a']],
    ['empty port', '/echo/h', ['Host: a.test:']],
    ['leading-zero port', '/echo/h', ['Host: a.test:080']],
    ['two ports', '/echo/h', ['Host: a.test:80:81']],
    ['short IPv4', '/echo/h', ['Host: 127.1']],
    ['octal IPv4', '/echo/h', ['Host: 0177.0.0.1']],
    ['unclosed IPv6', '/echo/h', ['Host: [::1']],
    ['IPv6 without brackets', '/echo/h', ['Host: ::1']],
    ['IPv6 zone id', '/echo/h', ['Host: [fe80::1%25eth0]']],
    ['IPvFuture', '/echo/h', ['Host: [v1.x]']],
    ['backslash', '/echo/h', ['Host: a.test\\evil']],
    ['absolute-form with another authority', 'http://evil.test/echo/h', ['Host: a.test']],
    ['absolute-form with another port', 'http://a.test:81/echo/h', ['Host: a.test']],
    ['absolute-form with userinfo', 'http://x@a.test/echo/h', ['Host: a.test']],
  ])('%s: 400 and nothing reaches the upstream', async (_label, target, lines) => {
    const before = upstream.received.length;
    const r = await rawStatus(gw.url, head(target, lines));
    expect(r.status).toBe(400);
    expect(upstream.received.length).toBe(before);
  });

  it.each([
    ['name', 'a.test', 'a.test'],
    ['name and port', 'A.Test:8080', 'A.Test:8080'],
    ['IPv4', '127.0.0.1', '127.0.0.1'],
    ['IPv6 and port', '[::1]:4000', '[::1]:4000'],
    ['trailing dot', 'a.test.', 'a.test.'],
  ])('%s is accepted and forwarded as X-Forwarded-Host', async (_label, host, forwarded) => {
    const r = await rawStatus(gw.url, head('/echo/ok', [`Host: ${host}`]));
    expect(r.status).toBe(200);
    expect(upstream.last()!.headers['x-forwarded-host']).toBe(forwarded);
  });

  it('HTTP/1.0 may omit Host', async () => {
    const r = await rawStatus(gw.url, head('/echo/old', [], '1.0'));
    expect(r.status).toBe(200);
    expect(upstream.last()!.url).toBe('/echo/old');
  });

  it('property: an accepted Host has one reading, made of host-safe characters only', () => {
    const hostish = fc.string({ unit: fc.constantFrom(...'aZ09.-_~:[]%@,/ \\vf'.split('')), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(hostish, fc.string({ maxLength: 30 }), fc.ipV6().map((a) => `[${a}]:80`), fc.domain()), (s) => {
        const parts = splitHost(s);
        expect(parts !== undefined).toBe(isValidHost(s));
        if (!parts) return;
        expect(s).toMatch(/^[A-Za-z0-9._~:[\]-]+$/);
        const [host, port] = parts;
        expect(`${host}${port ? `:${port}` : ''}`).toBe(s.toLowerCase());
        if (port) expect(Number(port)).toBeLessThanOrEqual(65535);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('X-Request-Id', () => {
  it.each([
    ['simple', 'abc-123', true],
    ['128 visible characters', 'x'.repeat(128), true],
    ['every visible ASCII', '!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~', true],
    ['129 characters', 'x'.repeat(129), false],
    ['inner space', 'a b', false],
    ['latin-1 byte', 'caf\u00e9', false],
    ['comma-joined duplicate', ['a', 'b'], false],
  ])('%s (echoed: %s)', async (_label, value, echoed) => {
    const r = await send('/echo/rid', { 'x-request-id': value as string | string[] });
    const got = r.headers['x-request-id'] as string;
    expect(isValidRequestId(got)).toBe(true);
    if (echoed) expect(got).toBe(value);
    else expect(got).not.toBe(Array.isArray(value) ? value.join(', ') : value);
    expect(upstream.last()!.headers['x-request-id']).toBe(got);
  });

  it.each([
    ['CRLF injection', 'X-Request-Id: abc\r\nX-Injected: 1'],
    ['bare LF injection', 'X-Request-Id: abc\nSet-Cookie: a=b'],
    ['bare CR', 'X-Request-Id: abc\rSet-Cookie: a=b'],
    ['NUL', 'X-Request-Id: abc\u0000def'],
    ['tab inside', 'X-Request-Id: a\tb'],
    ['obs-fold', 'X-Request-Id: abc\r\n def'],
    ['underscore spelling', 'X_Request_Id: chosen-by-client'],
  ])('%s: never echoed as sent, never splits the response', async (_label, line) => {
    const r = await rawStatus(gw.url, `GET /echo/rid HTTP/1.1\r\nHost: a.test\r\n${line}\r\nConnection: close\r\n\r\n`);
    const head = r.text.split('\r\n\r\n')[0]!;
    expect(head).not.toMatch(/^(x-injected|set-cookie):/im);
    const ids = [...head.matchAll(/^x-request-id: (.*)$/gim)].map((m) => m[1]);
    if (r.status === 400 && ids.length === 0) return; // refused by the HTTP parser before the gateway
    expect(ids).toHaveLength(1);
    expect(isValidRequestId(ids[0]!)).toBe(true);
    expect(ids[0]).not.toBe('chosen-by-client');
  });

  it('property: an accepted id is 1–128 characters of 0x21–0x7e', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(isValidRequestId(s)).toBe(/^[\x21-\x7e]{1,128}$/.test(s));
      }),
    );
  });
});

describe('reserved names, as a property', () => {
  it('any case and any mix of `-`, `_`, `.` of a reserved name is reserved', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RESERVED), fc.array(fc.constantFrom('-', '_', '.'), { minLength: 8, maxLength: 8 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (name, seps, upper) => {
        let i = 0;
        const spelled = name.replace(/-/g, () => seps[i++ % seps.length]!);
        const cased = [...spelled].map((c, j) => (upper[j % upper.length] ? c.toUpperCase() : c)).join('');
        expect(isReservedHeader(cased.toLowerCase())).toBe(true);
      }),
    );
  });

  it('ordinary headers are not reserved', () => {
    for (const n of ['accept', 'content-type', 'x-user-agent', 'x-forwarded', 'user-id', 'x_custom', 'authorization', 'tracestate']) {
      expect(isReservedHeader(n)).toBe(false);
    }
  });
});

describe('the route table of header verdicts, once full', () => {
  it('past its bound (256 names) it still drops every reserved spelling and Connection-named header, and forwards the rest', async () => {
    // 400 distinct names the client controls: more than the table keeps.
    for (let batch = 0; batch < 4; batch++) {
      const junk = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-junk-${batch}-${i}`, 'j']));
      expect((await send('/echo/fill', junk)).status).toBe(200);
    }
    const r = await send('/echo/after', { X_User_Roles: 'admin', 'x.client.id': 'evil', 'x-after-fill': 'kept', 'x-hop': 'gone', connection: 'keep-alive, x-hop' });
    expect(r.status).toBe(200);
    expect(upstream.last()!.headers['x-after-fill']).toBe('kept');
    expect(upstream.last()!.names).not.toContain('x-hop');
    for (const name of IDENTITY) expect(arrivedAs(name)).toEqual([]);
  });
});
