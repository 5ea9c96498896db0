/**
 * Route auth bypass by path spellings (issue #16, paths). A public `/app` route and a
 * jwt-protected `/app/admin` route go to two upstreams of our own; every spelling is sent byte
 * for byte and the upstream is asked what it received.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { SignJWT } from 'jose';
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { PATHS_SECRET as SECRET, pathsConfig, rawTarget, startRecordingUpstream, type RecordingUpstream } from './helpers/paths-servers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'paths');

let pub: RecordingUpstream;
let adm: RecordingUpstream;
let gw: RunningGateway;
let token: string;

beforeAll(async () => {
  pub = await startRecordingUpstream();
  adm = await startRecordingUpstream();
  gw = await startGateway({
    config: pathsConfig(pub.url, adm.url),
    schemaDir: join(FIXTURES, 'schema'),
    resolversDir: join(FIXTURES, 'resolvers'),
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
  });
  token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
});

afterAll(async () => {
  await gw?.close();
  await pub?.close();
  await adm?.close();
});

afterEach(() => {
  pub.received.length = 0;
  adm.received.length = 0;
});

type Expect = [status: number, upstream: 'pub' | 'adm' | null, received?: string];

// [spelling, what it tests, expected]
const ANONYMOUS: Array<[string, string, Expect]> = [
  ['/app/x', 'plain', [200, 'pub', '/app/x']],
  ['/app/%61dmin/x', 'encoded unreserved letter', [401, null]],
  ['/app/%61%64%6D%69%6E/x', 'whole segment encoded, mixed case', [401, null]],
  ['/app/%61%64%6d%69%6e', 'whole segment encoded, lower case', [401, null]],
  ['/app/%7euser', 'encoded tilde decoded', [200, 'pub', '/app/~user']],
  ['/app/%41dmin/x', 'encoded upper-case letter: case-insensitive upstreams read admin', [400, null]],
  ['/app/ADMIN/x', 'upper-case route segment', [400, null]],
  ['/app/Admin', 'mixed-case route segment', [400, null]],
  ['/APP/x', 'upper-case public prefix', [400, null]],
  ['/app/Users', 'upper case that collides with no route', [200, 'pub', '/app/Users']],
  ['/app/%5F%2d%2Ex', 'encoded _ - . decoded', [200, 'pub', '/app/_-.x']],
  ['/app/caf%c3%a9', 'non-ASCII escapes kept, hex upper-cased', [200, 'pub', '/app/caf%C3%A9']],
  ['/app/a%3ab%3F', 'reserved escapes kept, hex upper-cased', [200, 'pub', '/app/a%3Ab%3F']],
  ['/app/x%20y', 'encoded space kept', [200, 'pub', '/app/x%20y']],
  ['/app/x/', 'trailing slash kept', [200, 'pub', '/app/x/']],
  ['/app/x?q=%2e%2e/../admin', 'query forwarded untouched', [200, 'pub', '/app/x?q=%2e%2e/../admin']],
  ['//app///x', 'doubled slashes merged', [200, 'pub', '/app/x']],
  ['/app//admin/x', 'doubled slash before admin', [401, null]],
  ['/app/./admin/x', 'dot segment before admin', [401, null]],
  ['/app/x/../admin/y', 'dot-dot into admin', [401, null]],
  ['/app/%2e/admin', '%2e segment', [401, null]],
  ['/app/%2E%2E/app/x', '%2E%2E resolved inside the route', [200, 'pub', '/app/x']],
  ['/app/admin/.', 'trailing dot segment', [401, null]],
  ['/app/.%2e/.%2e/secret', 'mixed dot escapes leaving the route', [404, null]],
  ['/app/../../admin', 'dot-dot above the root', [404, null]],
  ['/app/%2e%2e', 'dot-dot to the root', [404, null]],
  ['/appx', 'prefix ends on a segment boundary', [404, null]],
  ['/app/admin#/x', 'raw #', [400, null]],
  ['/app/#', 'raw # alone', [400, null]],
  ['/app/admin%23x', 'encoded # (cut by the upstream)', [400, null]],
  ['/app/..;/admin', 'Tomcat ..;', [400, null]],
  ['/app/.;x/admin', '.;x', [400, null]],
  ['/app/%2e%2e;/admin', '%2e%2e;', [400, null]],
  ['/app/admin;jsessionid=1/x', 'jsessionid hides admin', [400, null]],
  ['/app/x;jsessionid=abc', 'jsessionid at the end', [400, null]],
  ['/app/admin%3bx/y', 'encoded ;', [400, null]],
  ['/app/%2fadmin', 'encoded slash', [400, null]],
  ['/app/..%2F..%2Fadmin', 'encoded slash with dots', [400, null]],
  ['/app/%5cadmin', 'encoded backslash', [400, null]],
  ['/app\\admin', 'raw backslash', [400, null]],
  ['/app/..\\admin', 'raw backslash with dots', [400, null]],
  ['/app/%00admin', 'encoded NUL', [400, null]],
  ['/app/%09admin', 'encoded tab', [400, null]],
  ['/app/%0d%0aX-Injected:%201', 'encoded CRLF', [400, null]],
  ['/app/%252e%252e/admin', 'double-encoded dots', [400, null]],
  ['/app/%25252e/admin', 'triple-encoded dot', [400, null]],
  ['/app/%252fadmin', 'double-encoded slash', [400, null]],
  ['/app/%25%32%65%25%32%65/admin', 'double encoding through unreserved escapes', [400, null]],
  ['/app/%c0%ae%c0%ae/admin', 'overlong UTF-8 dots', [400, null]],
  ['/app/%c0%af', 'overlong UTF-8 slash', [400, null]],
  ['/app/%e0%80%ae', 'three-byte overlong dot', [400, null]],
  ['/app/%ef%bc%8e%ef%bc%8e/admin', 'fullwidth dots (NFKC)', [400, null]],
  ['/app/%ef%bc%8fadmin', 'fullwidth slash (NFKC)', [400, null]],
  ['/app/%e2%80%a4%e2%80%a4/admin', 'one-dot leaders (NFKC)', [400, null]],
  ['/app/%ef%bd%81dmin', 'fullwidth letter (NFKC)', [400, null]],
  ['/app/%c3', 'truncated UTF-8', [400, null]],
  ['/app/admin.', 'trailing dot (Windows)', [400, null]],
  ['/app/admin../x', 'trailing dots before a slash', [400, null]],
  ['/app/...', 'three dots', [400, null]],
  ['/app/%zz', 'invalid escape', [400, null]],
  ['/app/%4', 'short escape', [400, null]],
  ['/app/%', 'bare %', [400, null]],
  ['/app/%u002e%u002e/admin', 'IIS %u escape', [400, null]],
  ['/app/\tadmin', 'raw tab', [400, null]],
  ['/app/\u00e9', 'raw non-ASCII byte', [400, null]],
  ['/app/\u007f', 'raw DEL', [400, null]],
  ['app/x', 'no leading slash', [400, null]],
  ['http://evil.example/app/admin', 'absolute-form target', [400, null]],
  ['*', 'asterisk-form target', [400, null]],
  ['/app/x?y=1#/admin', '# after the query', [400, null]],
  ['/s/%61/b', 'rewrite applies to the normalised path', [200, 'pub', '/app/public/a/b']],
  ['/s/x/../../app/y', 'dot segments resolved before the rewrite route is chosen', [200, 'pub', '/app/y']],
];

describe('path spellings without a token', () => {
  it.each(ANONYMOUS)('%s (%s)', async (path, _what, [status, upstream, received]) => {
    const r = await rawTarget(gw.url, path);
    expect(r.status).toBe(status);
    expect(adm.received).toEqual([]);
    if (upstream === 'pub') expect(pub.received).toEqual([received]);
    else expect(pub.received).toEqual([]);
  });
});

describe('path spellings with a token', () => {
  it.each([
    ['/app/admin', '/app/admin'],
    ['/app/%61dmin/x', '/app/admin/x'],
    ['/app/%61%64%6d%69%6e/%78', '/app/admin/x'],
    ['//app/./x/../admin//y/', '/app/admin/y/'],
  ])('%s reaches the admin upstream as %s', async (path, received) => {
    const r = await rawTarget(gw.url, path, { Authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    expect(adm.received).toEqual([received]);
    expect(pub.received).toEqual([]);
  });

  it.each(['/app/..;/admin', '/app/admin%2fx', '/app/admin#x'])('%s is still 400', async (path) => {
    const r = await rawTarget(gw.url, path, { Authorization: `Bearer ${token}` });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).code).toBe('BAD_REQUEST');
    expect(adm.received).toEqual([]);
  });
});

describe('GraphQL and internal endpoints are matched on the normalised path', () => {
  const query = JSON.stringify({ query: '{ item(id: "7") }' });
  it.each([
    ['/graphql', 200],
    ['/%67raphql', 200],
    ['//graphql', 200],
    ['/x/../graphql', 200],
    ['/graphql/', 404],
    ['/graphql;x', 400],
    ['/%67raphql%23', 400],
  ])('POST %s → %i', async (path, status) => {
    const url = new URL(gw.url);
    const got = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': 'application/json' }, agent: false }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode!));
      });
      req.on('error', reject);
      req.end(query);
    });
    expect(got).toBe(status);
    expect(pub.received).toEqual(status === 200 ? ['/items/7'] : []);
  });

  it.each([
    ['/healthz', 200],
    ['/%68ealthz', 200],
    ['/x/../healthz', 200],
    ['/healthz#', 400],
  ])('GET %s → %i', async (path, status) => {
    expect((await rawTarget(gw.url, path)).status).toBe(status);
  });
});

describe('upstream paths built by resolvers', () => {
  async function gql(query: string) {
    const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> };
  }

  it.each([
    ['..', '/items/%2E%2E'],
    ['.', '/items/%2E'],
    ['../admin', '/items/..%2Fadmin'],
    ['a/b', '/items/a%2Fb'],
    ['x?y=1#z', '/items/x%3Fy%3D1%23z'],
    ['%2e%2e', '/items/%252e%252e'],
    ['é', '/items/%C3%A9'],
  ])('a template parameter %j is one segment: %s', async (id, received) => {
    const body = await gql(`{ item(id: ${JSON.stringify(id)}) }`);
    expect(body.data?.item).toBe(received);
    expect(pub.received).toEqual([received]);
  });

  it.each(['..', '.', '%2e%2E', '..;x', 'x#y', 'x\\y'])('a hand-built path with %j is refused before any call', async (id) => {
    const body = await gql(`{ itemByString(id: ${JSON.stringify(id)}) }`);
    expect(body.data?.itemByString ?? null).toBeNull();
    expect(body.errors?.length).toBe(1);
    expect(pub.received).toEqual([]);
  });

  it('an empty parameter is refused (it would address the collection)', async () => {
    const body = await gql('{ item(id: "") }');
    expect(body.errors?.length).toBe(1);
    expect(pub.received).toEqual([]);
  });
});
