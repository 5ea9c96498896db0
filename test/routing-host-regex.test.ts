/**
 * Passthrough routing by `match.host` (exact and `*.` wildcard) and `match.pathRegex`, with the
 * documented specificity order (docs/passthrough.md, "Which route wins"): host group first
 * (exact > longest wildcard > none), then within a group exact path > regex (config order) >
 * longest prefix. A real gateway in front of a real upstream that reports which route sent it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { rawRequest } from './helpers/raw-http.js';
import { sendJson, startHttpUpstream, type DemoHttpServer } from '../src/demo/http-server.js';
import { ConfigError, parseConfig, type ConfigProblem } from '../src/config/load.js';
import { RouteTable } from '../src/proxy/route-table.js';
import { splitHost } from '../src/plugins/use-host-check.js';
import { parseRouteHost, routingHost } from '../src/http/route-host.js';
import { compilePathRegex } from '../src/http/path-regex.js';
import type { RouteConfig } from '../src/config/schema.js';

let gw: TestGateway;
let up: DemoHttpServer;

/** One route per name; the upstream echoes the X-Route header it was given. */
function r(name: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, match, upstream: 'echo', requestHeaders: { add: { 'X-Route': name } }, ...extra };
}

const ROUTES = [
  r('api-root', { host: 'api.example.com', pathPrefix: '/' }),
  r('api-admin', { host: 'api.example.com', path: '/admin', methods: ['GET'] }),
  r('wild', { host: '*.example.com', pathPrefix: '/' }),
  r('wild-eu', { host: '*.eu.example.com', pathPrefix: '/' }),
  r('idn', { host: 'bücher.example', pathPrefix: '/' }),
  r('only-one', { host: 'only.test', path: '/only' }),
  r('users', { pathPrefix: '/users' }),
  r('users-me', { path: '/users/me' }),
  r('avatar', { pathRegex: '/users/[0-9]+/avatar' }),
  r('avatar-one', { path: '/users/1/avatar' }),
  r('letters', { pathRegex: '/r/[a-z]+' }),
  r('anything', { pathRegex: '/r/.*' }),
  r('v2-letters', { pathRegex: '/r/[a-z]+', headers: { 'X-Version': '2' } }),
  r('posts-only', { pathRegex: '/p/[0-9]+', methods: ['POST'] }),
  // Polynomial (cubic) backtracking that safe-regex2 does not see; the linear-time fallback bounds it.
  r('png', { pathRegex: '/img/.*-.*-.*[.]png' }),
];

beforeAll(async () => {
  up = await startHttpUpstream((req, res) => sendJson(res, 200, { route: req.headers['x-route'], url: req.url }));
  gw = await startTestGateway({
    configure(c) {
      c.upstreams.echo = { protocol: 'http', targets: [{ url: up.url }] };
      c.routes = ROUTES;
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function routeOf(host: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<string> {
  const res = await rawRequest(gw.url, path, { method: init.method, headers: { host, ...init.headers } });
  if (res.status !== 200) return String(res.status);
  return (JSON.parse(res.body) as { route: string }).route;
}

describe('match.host', () => {
  // Host header as sent → the route chosen for GET /users/5.
  const HOSTS: Array<[string, string]> = [
    ['api.example.com', 'api-root'],
    ['API.Example.COM', 'api-root'],
    ['api.example.com.', 'api-root'], // trailing dot: the same absolute name
    ['api.example.com:8443', 'api-root'], // the port is not part of the match
    ['a.example.com', 'wild'],
    ['a.b.example.com', 'wild'], // one or more labels
    ['x.eu.example.com', 'wild-eu'], // the longest wildcard wins
    ['X.EU.Example.Com.:80', 'wild-eu'],
    ['eu.example.com', 'wild'], // *.eu.example.com needs a label before eu
    ['example.com', 'users'], // a wildcard never matches the bare domain
    ['example.com.evil.test', 'users'],
    ['api.example.com.evil.test', 'users'],
    ['evilexample.com', 'users'], // a suffix match is on a label boundary
    ['xn--bcher-kva.example', 'idn'], // the configured IDN matches its punycode spelling
    ['XN--BCHER-KVA.example', 'idn'],
    ['a..example.com', 'users'], // an empty label matches no host route
    ['127.0.0.1', 'users'],
    ['[::1]:8080', 'users'],
    ['only.test', 'users'], // its group has no route for /users/5: the host-less routes answer
  ];
  it.each(HOSTS)('Host %s → %s', async (host, route) => {
    expect(await routeOf(host, '/users/5')).toBe(route);
  });

  it('refuses a Host that is not ASCII host[:port] (IDN must arrive as punycode)', async () => {
    expect(await routeOf('bücher.example', '/users/5')).toBe('400');
    expect(await routeOf('api.example.com:0', '/users/5')).toBe('400');
  });

  it('a host group wins over any path of the host-less routes', async () => {
    expect(await routeOf('api.example.com', '/users/me')).toBe('api-root');
    expect(await routeOf('other.test', '/users/me')).toBe('users-me');
  });

  it('within a host group the exact path wins, and a method it does not allow falls to the group prefix', async () => {
    expect(await routeOf('api.example.com', '/admin')).toBe('api-admin');
    expect(await routeOf('api.example.com', '/admin', { method: 'POST' })).toBe('api-root');
    expect(await routeOf('only.test', '/only')).toBe('only-one');
  });

  it('routes on the Host, not on X-Forwarded-Host', async () => {
    expect(await routeOf('other.test', '/users/5', { headers: { 'X-Forwarded-Host': 'api.example.com' } })).toBe('users');
  });
});

describe('match.pathRegex', () => {
  // Path as sent (Host other.test) → the route chosen.
  const PATHS: Array<[string, string]> = [
    ['/users/42/avatar', 'avatar'], // regex before the /users prefix
    ['/users/1/avatar', 'avatar-one'], // an exact path before any regex
    ['/users/me', 'users-me'],
    ['/users/42/avatarx', 'users'], // anchored: the whole path must match
    ['/users/42/avatar/', 'users'], // the trailing slash is part of the path a regex sees
    ['/users/x/avatar', 'users'],
    ['/users/%34%32/avatar', 'avatar'], // normalised first: %34%32 is 42
    ['/users/7/../42/avatar', 'avatar'], // dot segments removed before matching
    ['/x/../users/42/avatar', 'avatar'],
    ['/r/abc', 'letters'], // config order among regexes
    ['/r/123', 'anything'],
    ['/r/', 'anything'],
    ['/users/42/AVATAR', '400'], // matches a regex route only ignoring case: refused like prefixes
    ['/users/%2F/avatar', '400'],
  ];
  it.each(PATHS)('%s → %s', async (path, route) => {
    expect(await routeOf('other.test', path)).toBe(route);
  });

  it('among routes with the same regex the one with more conditions is tried first', async () => {
    expect(await routeOf('other.test', '/r/abc', { headers: { 'X-Version': '2' } })).toBe('v2-letters');
    expect(await routeOf('other.test', '/r/abc', { headers: { 'X-Version': '3' } })).toBe('letters');
  });

  it('a regex route that refuses the method answers 405 with Allow when nothing else matches', async () => {
    const res = await rawRequest(gw.url, '/p/12', { headers: { host: 'other.test' } });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(await routeOf('other.test', '/p/12', { method: 'POST' })).toBe('posts-only');
  });

  it('a path crafted to make a regex backtrack polynomially is answered at once', async () => {
    expect(await routeOf('other.test', '/img/a-b-c.png')).toBe('png');
    const started = performance.now();
    // Without the linear-time fallback this pattern takes minutes on 6000 dashes (cubic backtracking).
    expect(await routeOf('other.test', `/img/${'-'.repeat(6000)}`)).toBe('404');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('forwards the normalised path the regex matched', async () => {
    const res = await rawRequest(gw.url, '/users/%34%32/avatar?size=2', { headers: { host: 'other.test' } });
    expect(JSON.parse(res.body).url).toBe('/users/42/avatar?size=2');
  });
});

describe('host matching, properties', () => {
  const route = (name: string, match: Record<string, unknown>): RouteConfig => ({ name, match: { headers: {}, query: {}, ...match }, upstream: 'u', auth: 'none', roles: [] }) as unknown as RouteConfig;
  const table = new RouteTable([route('wild', { host: '*.alpha.test', pathPrefix: '/' }), route('exact', { host: 'beta.test', pathPrefix: '/' }), route('rest', { pathPrefix: '/' })]);
  const chosen = (hostHeader: string): string | undefined => {
    const split = splitHost(hostHeader);
    const host = split && routingHost(split[0]);
    const m = table.match({ method: 'GET', path: '/x', host, headers: {}, query: () => new URLSearchParams() });
    return m.kind === 'route' ? m.route.name : undefined;
  };
  const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
  const hostArb = fc
    .tuple(fc.array(label, { minLength: 0, maxLength: 3 }), fc.constantFrom('alpha.test', 'ALPHA.test', 'beta.test', 'Beta.Test', 'gamma.test', 'alpha.test.evil', 'xalpha.test'), fc.boolean(), fc.option(fc.integer({ min: 1, max: 65535 })))
    .map(([labels, base, dot, port]) => `${[...labels, base].join('.')}${dot ? '.' : ''}${port ? `:${port}` : ''}`);

  it('a generated host is routed by exactly the rule its lower-case name gives', () => {
    fc.assert(
      fc.property(hostArb, (h) => {
        const name = h.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
        const expected = name === 'beta.test' ? 'exact' : name.endsWith('.alpha.test') ? 'wild' : 'rest';
        expect(chosen(h)).toBe(expected);
      }),
    );
  });

  it('the two disjoint host routes never both claim a host: each host matches at most one of them', () => {
    const onlyWild = new RouteTable([route('wild', { host: '*.alpha.test', pathPrefix: '/' })]);
    const onlyExact = new RouteTable([route('exact', { host: 'beta.test', pathPrefix: '/' })]);
    const hit = (t: RouteTable, h: string): boolean => {
      const split = splitHost(h);
      return t.match({ method: 'GET', path: '/', host: split && routingHost(split[0]), headers: {}, query: () => new URLSearchParams() }).kind === 'route';
    };
    fc.assert(fc.property(hostArb, (h) => !(hit(onlyWild, h) && hit(onlyExact, h))));
  });

  it('a configured host and any case / trailing-dot spelling of it parse to the same key', () => {
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), (labels, upper, dot) => {
        const name = labels.join('.') + '.example';
        const spelled = (upper ? name.toUpperCase() : name) + (dot ? '.' : '');
        expect(parseRouteHost(spelled)).toEqual(parseRouteHost(name.toLowerCase()));
        expect(parseRouteHost(`*.${spelled}`)).toEqual({ wildcard: true, host: `.${name.toLowerCase()}` });
      }),
    );
  });

  it('a path regex route matches exactly the paths its anchored regex accepts', () => {
    // `(?:/[a-z]+|)` rather than `(/[a-z]+)?`: safe-regex2 counts `?` over a quantifier as nesting.
    const re = compilePathRegex('/items/[0-9]+(?:/[a-z]+|)') as RegExp;
    expect(typeof compilePathRegex('/items/[0-9]+(/[a-z]+)?')).toBe('string');
    const t = new RouteTable([route('re', { pathRegex: '/items/[0-9]+(?:/[a-z]+|)' }), route('rest', { pathPrefix: '/' })]);
    const seg = fc.stringMatching(/^[a-z0-9]{1,4}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(seg, fc.constant('items')), { minLength: 1, maxLength: 4 }), (segs) => {
        const path = `/${segs.join('/')}`;
        const m = t.match({ method: 'GET', path, headers: {}, query: () => new URLSearchParams() });
        expect(m.kind === 'route' && m.route.name).toBe(/^\/items\/[0-9]+(\/[a-z]+)?$/.test(path) && re.test(path) ? 're' : 'rest');
      }),
    );
  });
});

describe('config check', () => {
  function problemsOf(routes: unknown[], auth?: unknown): ConfigProblem[] {
    const text = stringify({ upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } }, routes, ...(auth ? { auth } : {}) });
    try {
      parseConfig(text, {});
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  }
  const at = (problems: ConfigProblem[], path: string): string[] => problems.filter((p) => p.path === path).map((p) => p.message);

  it('reports two routes that can never be told apart, by key path, whatever the spelling', () => {
    const p = problemsOf([
      { name: 'a', match: { host: 'API.example.com', pathPrefix: '/v1/', headers: { 'X-A': '1' } }, upstream: 'u' },
      { name: 'b', match: { host: 'api.example.com.', pathPrefix: '/v1', headers: { 'x-a': '1' } }, upstream: 'u' },
      { name: 'c', match: { host: 'api.example.com', pathPrefix: '/v1' }, upstream: 'u' },
    ]);
    expect(at(p, 'routes[1].match')).toEqual([expect.stringContaining('routes[0] ("a")')]);
    expect(at(p, 'routes[2].match')).toEqual([]);
  });

  it('a later route whose methods the earlier one already takes is reported; a disjoint or wider one is not', () => {
    const p = problemsOf([
      { name: 'a', match: { pathRegex: '/x/[0-9]+', methods: ['GET', 'POST'] }, upstream: 'u' },
      { name: 'b', match: { pathRegex: '/x/[0-9]+', methods: ['post'] }, upstream: 'u' },
      { name: 'c', match: { pathRegex: '/x/[0-9]+', methods: ['PUT'] }, upstream: 'u' },
      { name: 'd', match: { pathRegex: '/x/[0-9]+' }, upstream: 'u' },
      { name: 'e', match: { pathRegex: '/x/[0-9]+' }, upstream: 'u' },
      { name: 'f', match: { host: '*.example.com', pathRegex: '/x/[0-9]+' }, upstream: 'u' },
    ]);
    expect(at(p, 'routes[1].match')).toHaveLength(1);
    expect(at(p, 'routes[2].match')).toEqual([]);
    expect(at(p, 'routes[3].match')).toEqual([]);
    expect(at(p, 'routes[4].match')).toEqual([expect.stringContaining('routes[3] ("d")')]);
    expect(at(p, 'routes[5].match')).toEqual([]);
  });

  it('refuses unusable hosts and unsafe or invalid regexes by key path, next to other problems', () => {
    const p = problemsOf([
      { name: 'a', match: { host: 'api.*.com', pathPrefix: '/' }, upstream: 'u' },
      { name: 'b', match: { host: 'https://api.example.com', pathPrefix: '/' }, upstream: 'u' },
      { name: 'c', match: { pathRegex: '/(a+)+$' }, upstream: 'u' },
      { name: 'd', match: { pathRegex: '/([0-9]*)*x' }, upstream: 'u' },
      { name: 'e', match: { pathRegex: '/[' }, upstream: 'u' },
      { name: 'f', match: { pathRegex: '/x', pathPrefix: '/x' }, upstream: 'u' },
      { name: 'g', match: { host: '*.1.2.3', pathPrefix: '/' }, upstream: 'nope' },
    ]);
    expect(at(p, 'routes[0].match.host')).toHaveLength(1);
    expect(at(p, 'routes[1].match.host')).toHaveLength(1);
    expect(at(p, 'routes[2].match.pathRegex')).toEqual([expect.stringContaining('backtrack')]);
    expect(at(p, 'routes[3].match.pathRegex')).toEqual([expect.stringContaining('backtrack')]);
    expect(at(p, 'routes[4].match.pathRegex')).toEqual([expect.stringContaining('invalid regular expression')]);
    expect(at(p, 'routes[5].match')).toEqual(['set exactly one of path, pathPrefix or pathRegex']);
    expect(at(p, 'routes[6].match.host')).toHaveLength(1);
    expect(at(p, 'routes[6].upstream')).toHaveLength(1);
  });

  it('refuses patterns without a linear-time match: backreferences, lookaround, repeat counts above 16', () => {
    const p = problemsOf([
      { name: 'a', match: { pathRegex: '/([a-z]+)/\\1' }, upstream: 'u' },
      { name: 'b', match: { pathRegex: '/(?!admin)[a-z]+' }, upstream: 'u' },
      { name: 'c', match: { pathRegex: '/h/[0-9a-f]{32}' }, upstream: 'u' },
      { name: 'd', match: { pathRegex: '/h/[0-9a-f]{16}[0-9a-f]{16}' }, upstream: 'u' },
    ]);
    for (const i of [0, 1, 2]) expect(at(p, `routes[${i}].match.pathRegex`)).toEqual([expect.stringContaining('linear-time')]);
    expect(at(p, 'routes[3].match.pathRegex')).toEqual([]);
  });

  it('accepts exact, wildcard, IDN and IP hosts and a safe regex', () => {
    const p = problemsOf([
      { name: 'a', match: { host: 'api.example.com', pathRegex: '/v[0-9]+/items/[^/]+' }, upstream: 'u' },
      { name: 'b', match: { host: '*.example.com', pathPrefix: '/' }, upstream: 'u' },
      { name: 'c', match: { host: 'bücher.example', pathPrefix: '/' }, upstream: 'u' },
      { name: 'd', match: { host: '10.0.0.1', pathPrefix: '/' }, upstream: 'u' },
      { name: 'e', match: { host: '[::1]', pathPrefix: '/' }, upstream: 'u' },
    ]);
    expect(p).toEqual([]);
  });
});
