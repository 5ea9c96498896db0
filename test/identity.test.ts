/**
 * Identity end to end: real tokens (HS256, RS256 and ES256 through a real JWKS endpoint),
 * API keys, route roles, GraphQL field authorization, and the identity headers upstreams see.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSigningKey, mint, startJwksServer, type JwksServer, type SigningKey } from './helpers/jwks.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const SECRET = 'a-test-secret-of-reasonable-length-0123456789';
const ISS = 'https://idp.test/';
const AUD = 'gateway';

let jwks: JwksServer;
let rsa: SigningKey;
let ec: SigningKey;
let gw: TestGateway;

beforeAll(async () => {
  rsa = await createSigningKey('RS256', 'rsa-1');
  ec = await createSigningKey('ES256', 'ec-1');
  jwks = await startJwksServer([rsa, ec]);
  gw = await startTestGateway({
    configure(c) {
      c.auth = {
        // These tests send many bad credentials from one address on purpose; the throttle of
        // auth failures has its own tests (test/security/auth-throttle.test.ts).
        failureLimit: false,
        jwt: { algorithms: ['HS256', 'RS256', 'ES256'], secret: SECRET, jwksUrl: jwks.url, issuer: ISS, audience: AUD, requiredClaims: ['exp', 'sub'], rolesClaim: 'roles', jwksCooldownMs: 300 },
        apiKeys: {
          header: 'X-API-Key',
          keys: [
            { key: 'plain-partner-key', owner: 'partner-a', roles: ['partner'] },
            { sha256: createHash('sha256').update('hashed-partner-key').digest('hex'), owner: 'partner-b', roles: [] },
          ],
        },
      };
      c.routes = [
        { name: 'open', match: { pathPrefix: '/echo' }, upstream: 'users' },
        { name: 'admin', match: { pathPrefix: '/admin' }, upstream: 'users', auth: 'jwt', roles: ['admin'], rewrite: { stripPrefix: '/admin', addPrefix: '/echo' } },
        { name: 'partner', match: { pathPrefix: '/partner' }, upstream: 'users', auth: 'apiKey', rewrite: { stripPrefix: '/partner', addPrefix: '/echo' } },
        { name: 'any', match: { pathPrefix: '/any' }, upstream: 'users', auth: 'any', rewrite: { stripPrefix: '/any', addPrefix: '/echo' } },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await jwks.close();
});
beforeEach(() => gw.demo.reset());

const good = (claims: Record<string, unknown> = {}, key: SigningKey | string = SECRET) =>
  mint({ sub: 'u-1', roles: ['admin'], ...claims }, key, { expiresIn: '5m', issuer: ISS, audience: AUD });

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${path}`, { headers });
  return { res, body: (await res.json()) as any };
}

describe('bearer tokens', () => {
  it('HS256, RS256 and ES256 tokens are accepted', async () => {
    for (const key of [SECRET, rsa, ec]) {
      const { res } = await get('/admin/x', { authorization: `Bearer ${await good({}, key)}` });
      expect(res.status).toBe(200);
    }
  });

  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => mint({ sub: 'u' }, SECRET, { expiresIn: Math.floor(Date.now() / 1000) - 60, issuer: ISS, audience: AUD }), /expired/],
    ['not yet valid', () => mint({ sub: 'u' }, SECRET, { expiresIn: '5m', notBefore: '2m', issuer: ISS, audience: AUD }), /not yet valid/],
    ['wrong issuer', () => mint({ sub: 'u' }, SECRET, { expiresIn: '5m', issuer: 'https://evil/', audience: AUD }), /issuer/],
    ['wrong audience', () => mint({ sub: 'u' }, SECRET, { expiresIn: '5m', issuer: ISS, audience: 'other' }), /audience/],
    ['missing sub', () => mint({}, SECRET, { expiresIn: '5m', issuer: ISS, audience: AUD }), /sub/],
    ['bad signature', () => mint({ sub: 'u' }, 'another-secret-of-reasonable-length-xyz', { expiresIn: '5m', issuer: ISS, audience: AUD }), /signature/],
    ['algorithm not allowed (HS512)', () => mint({ sub: 'u' }, SECRET, { alg: 'HS512', expiresIn: '5m', issuer: ISS, audience: AUD }), /algorithm/],
    [
      'alg none',
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${enc({ alg: 'none' })}.${enc({ sub: 'u', iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 60 })}.`;
      },
      /algorithm|malformed/,
    ],
    ['HS256 signed with the RSA public key as secret', () => mint({ sub: 'u' }, rsa.spki, { expiresIn: '5m', issuer: ISS, audience: AUD }), /signature/],
    ['malformed', async () => 'not.a.jwt', /malformed/],
  ];
  for (const [name, make, reason] of cases) {
    it(`${name} → 401 with the reason`, async () => {
      const { res, body } = await get('/echo/x', { authorization: `Bearer ${await make()}` });
      expect(res.status).toBe(401);
      expect(body.code).toBe('UNAUTHENTICATED');
      expect(body.error).toMatch(reason);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(gw.demo.users.recorder.calls).toHaveLength(0);
    });
  }

  it('an invalid token is a 401 for the whole GraphQL request', async () => {
    const r = await gw.gql('{ user(id: "1") { name } }', undefined, { authorization: 'Bearer nope.nope.nope' });
    expect(r.status).toBe(401);
    expect(r.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('a missing token on a jwt route is 401; a token without the role is 403', async () => {
    expect((await get('/admin/x')).res.status).toBe(401);
    const { res, body } = await get('/admin/x', { authorization: `Bearer ${await good({ roles: ['customer'] })}` });
    expect(res.status).toBe(403);
    expect(body.code).toBe('FORBIDDEN');
  });

  it('a token verified once (and remembered) is still held to each route\'s auth and roles', async () => {
    const customer = `Bearer ${await good({ roles: ['customer'] })}`;
    // Verified and remembered on a route without roles...
    expect((await get('/echo/x', { authorization: customer })).res.status).toBe(200);
    // ...then refused on a route that needs a role it lacks, every time.
    for (let i = 0; i < 3; i++) expect((await get('/admin/x', { authorization: customer })).res.status).toBe(403);
  });
});

describe('JWKS rotation', () => {
  it('a new kid is fetched once; a storm of unknown kids does not hammer the endpoint', async () => {
    const before = jwks.hits;
    const rotated = await createSigningKey('RS256', 'rsa-2');
    jwks.keys.push(rotated);
    await new Promise((r) => setTimeout(r, 350)); // past the refetch cooldown
    const { res } = await get('/admin/x', { authorization: `Bearer ${await good({}, rotated)}` });
    expect(res.status).toBe(200);
    expect(jwks.hits).toBe(before + 1);
    const stranger = await createSigningKey('RS256', 'unknown-kid');
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await get('/echo/x', { authorization: `Bearer ${await good({}, stranger)}` })).res.status));
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(jwks.hits - before).toBeLessThanOrEqual(2);
  });

  it('a key removed from the JWKS stops working once the set is refetched, even for a token verified before', async () => {
    const retiring = await createSigningKey('RS256', 'rsa-retiring');
    jwks.keys.push(retiring);
    await new Promise((r) => setTimeout(r, 350));
    const token = `Bearer ${await good({}, retiring)}`;
    expect((await get('/echo/x', { authorization: token })).res.status).toBe(200);
    expect((await get('/echo/x', { authorization: token })).res.status).toBe(200); // remembered
    jwks.keys.splice(jwks.keys.indexOf(retiring), 1);
    await new Promise((r) => setTimeout(r, 350));
    // Any unknown kid makes the gateway refetch the set; the retired key is gone from it.
    const newcomer = await createSigningKey('RS256', 'rsa-newcomer');
    expect((await get('/echo/x', { authorization: `Bearer ${await good({}, newcomer)}` })).res.status).toBe(401);
    expect((await get('/echo/x', { authorization: token })).res.status).toBe(401);
  });
});

describe('API keys', () => {
  it('plain and sha256 keys identify their owner', async () => {
    const a = await get('/partner/x', { 'x-api-key': 'plain-partner-key' });
    expect(a.res.status).toBe(200);
    expect(a.body.headers['x-client-id']).toBe('partner-a');
    expect(a.body.headers['x-user-roles']).toBe('partner');
    const b = await get('/partner/x', { 'x-api-key': 'hashed-partner-key' });
    expect(b.res.status).toBe(200);
    expect(b.body.headers['x-client-id']).toBe('partner-b');
  });

  it('missing key → 401, unknown key → 403', async () => {
    expect((await get('/partner/x')).res.status).toBe(401);
    const { res, body } = await get('/partner/x', { 'x-api-key': 'guess' });
    expect(res.status).toBe(403);
    expect(body.code).toBe('FORBIDDEN');
  });

  it('auth: any takes either credential', async () => {
    expect((await get('/any/x')).res.status).toBe(401);
    expect((await get('/any/x', { 'x-api-key': 'plain-partner-key' })).res.status).toBe(200);
    expect((await get('/any/x', { authorization: `Bearer ${await good()}` })).res.status).toBe(200);
  });
});

describe('identity headers upstream', () => {
  it('forged identity headers never reach the upstream; the verified identity does', async () => {
    const forged = { 'x-user-id': 'root', 'x-user-roles': 'admin', 'x-client-id': 'root' };
    const anon = await get('/echo/x', forged);
    expect(anon.body.headers['x-user-id']).toBeUndefined();
    expect(anon.body.headers['x-user-roles']).toBeUndefined();
    const authed = await get('/echo/x', { ...forged, authorization: `Bearer ${await good({ sub: 'u-42', roles: ['a', 'b'] })}` });
    expect(authed.body.headers['x-user-id']).toBe('u-42');
    expect(authed.body.headers['x-user-roles']).toBe('a,b');
    expect(authed.body.headers['x-client-id']).toBe('u-42');
  });

  it('GraphQL upstream calls carry the verified identity', async () => {
    await gw.gql('{ user(id: "1") { id } }', undefined, { authorization: `Bearer ${await good({ sub: 'u-7' })}`, 'x-user-id': 'forged' });
    expect(gw.demo.users.recorder.calls[0]!.headers['x-user-id']).toBe('u-7');
  });
});

describe('GraphQL field authorization', () => {
  it('anonymous: email is null with UNAUTHENTICATED, the rest resolves', async () => {
    const r = await gw.gql('{ user(id: "1") { name email } }');
    expect(r.status).toBe(200);
    expect(r.body.data.user).toEqual({ name: 'Ada Lovelace', email: null });
    expect(r.body.errors![0]!.path).toEqual(['user', 'email']);
    expect(r.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('with a token: email and me resolve', async () => {
    const r = await gw.gql('{ me { id email } user(id: "1") { email } }', undefined, { authorization: `Bearer ${await good({ sub: '3' })}` });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.me.id).toBe('3');
    expect(r.body.data.user.email).toBe(gw.demo.data.users.get('1')!.email);
  });

  it('me without identity is UNAUTHENTICATED', async () => {
    const r = await gw.gql('{ me { id } }');
    expect(r.body.data.me).toBeNull();
    expect(r.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('createOrder uses the caller sub as userId and needs identity', async () => {
    const mutation = 'mutation { createOrder(input: { items: [{ productId: "p1", quantity: 2 }] }) { id user { id } } }';
    const anon = await gw.gql(mutation);
    expect(anon.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(gw.demo.orders.recorder.callsTo('/orders', 'POST')).toHaveLength(0);
    const r = await gw.gql(mutation, undefined, { authorization: `Bearer ${await good({ sub: '5' })}` });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.createOrder.user.id).toBe('5');
  });
});

describe('per-client rate limits key on the verified sub', () => {
  it('two subs get separate buckets', async () => {
    const limited = await startTestGateway({
      demo: gw.demo,
      configure(c) {
        c.auth = { jwt: { algorithms: ['HS256'], secret: SECRET } };
        c.rateLimit = { perClient: { points: 2, durationSec: 60 } };
      },
    });
    try {
      const a = `Bearer ${await mint({ sub: 'alice' }, SECRET, { expiresIn: '5m' })}`;
      const b = `Bearer ${await mint({ sub: 'bob' }, SECRET, { expiresIn: '5m' })}`;
      const statuses = [];
      for (const auth of [a, a, a, b, b]) statuses.push((await limited.gql('{ __typename }', undefined, { authorization: auth })).status);
      expect(statuses).toEqual([200, 200, 429, 200, 200]);
    } finally {
      await limited.close();
    }
  });
});

describe('gateway token', () => {
  it('mints a token the gateway accepts', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['token', '--sub', 'cli-user', '--roles', 'admin', '--secret', SECRET, '--ttl', '5m']);
    expect(r.code).toBe(0);
    const limited = await startTestGateway({
      demo: gw.demo,
      configure(c) {
        c.auth = { jwt: { algorithms: ['HS256'], secret: SECRET } };
        c.routes = [{ name: 'admin', match: { pathPrefix: '/admin' }, upstream: 'users', auth: 'jwt', roles: ['admin'], rewrite: { stripPrefix: '/admin', addPrefix: '/echo' } }];
      },
    });
    try {
      const res = await fetch(`${limited.url}/admin/x`, { headers: { authorization: `Bearer ${r.stdout.trim()}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).headers['x-user-id']).toBe('cli-user');
    } finally {
      await limited.close();
    }
  });
});
