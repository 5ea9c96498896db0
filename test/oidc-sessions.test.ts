/**
 * Browser sessions against a real OpenID Provider (oidc-provider, in-process), over HTTP:
 * login, the cookie as identity for GraphQL and passthrough (the upstream gets the access token
 * as a bearer token, never the cookie), CSRF, state and code replay, open redirects in
 * `returnTo`, session id rotation, a stolen cookie after logout, coalesced refresh under 50
 * parallel requests, and an expired refresh token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/index.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { APP_ORIGIN, freePort, gqlWith, login, oidcConfig, startOidcGateway, toCallback } from './helpers/oidc-gateway.js';

describe('OIDC browser sessions', () => {
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let gw: RunningGateway;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    [provider, demo] = await Promise.all([startTestProvider({ redirectUri: () => [`${url}/auth/callback`], postLogoutRedirectUris: [`${url}/`] }), startFixtureUpstreams()]);
    gw = await startOidcGateway({
      port,
      demo,
      configure: (c) => {
        c.auth = { oidc: oidcConfig(provider, url), apiKeys: { header: 'X-API-Key', queryParam: 'api_key', keys: [{ key: 'session-test-api-key-0123456789', owner: 'partner', roles: [] }] } };
        c.server.cors = { origins: [APP_ORIGIN], credentials: true };
        c.routes.push({ name: 'users-open', match: { pathPrefix: '/open/users', methods: ['GET'] }, upstream: 'users', rewrite: { stripPrefix: '/open' } });
      },
    });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await Promise.all([provider?.close(), demo?.close()]);
  });

  it('logs in, and the cookie is an identity for GraphQL; upstreams get the access token, not the cookie', async () => {
    const s = await login(provider, url, '7', { returnTo: '/app/home?tab=1' });
    expect(s.location).toBe('/app/home?tab=1');
    expect(s.setCookie).toMatch(/^gw_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    demo.users.recorder.reset();
    const r = await gqlWith(url, `${s.cookie}; theme=dark`, '{ me { id name email } }');
    expect(r.status).toBe(200);
    expect(r.body.data.me).toMatchObject({ id: '7', email: expect.any(String) });
    const call = demo.users.recorder.calls.at(-1)!;
    expect(call.headers.authorization).toMatch(/^Bearer [A-Za-z0-9_-]{20,}$/);
    expect(call.headers['x-user-id']).toBe('7');
    const info = await fetch(`${url}/auth/session`, { headers: { cookie: s.cookie } });
    expect(info.status).toBe(200);
    const body = await info.json();
    expect(body).toMatchObject({ sub: '7', roles: ['member'], claims: { sub: '7', name: 'User 7', email: '7@example.test' } });
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());

    // A request with its own bearer token is not a session request, and the cookie still stays here.
    demo.users.recorder.reset();
    expect((await fetch(`${url}/open/users/7`, { headers: { cookie: `theme=dark; ${s.cookie}`, authorization: 'Bearer not-ours' } })).status).toBe(200);
    const open = demo.users.recorder.calls.at(-1)!;
    expect(open.headers.cookie).toBe('theme=dark');
    expect(open.headers.authorization).toBe('Bearer not-ours');
    expect(open.headers['x-user-id']).toBeUndefined();
  });

  it('a session request carrying an API key parameter: the session decides, and the key never leaves', async () => {
    const s = await login(provider, url, '12');
    demo.users.recorder.reset();
    const r = await fetch(`${url}/api/users/7?api_key=session-test-api-key-0123456789&x=1`, { headers: { cookie: s.cookie } });
    expect(r.status).toBe(200);
    const call = demo.users.recorder.calls.at(-1)!;
    expect(call.headers['x-user-id']).toBe('12');
    expect(call.query.get('api_key')).toBeNull();
    expect(call.query.get('x')).toBe('1');
  });

  it('refuses a cookie-authenticated mutation or unsafe passthrough call without the CSRF header', async () => {
    const s = await login(provider, url, '8');
    const m = 'mutation { createUser(input: { name: "Zed", email: "zed@example.test" }) { id } }';
    const without = await gqlWith(url, s.cookie, m);
    expect(without.status).toBe(403);
    expect(without.body.errors[0].extensions.code).toBe('CSRF_REQUIRED');
    const query = await gqlWith(url, s.cookie, '{ me { id } }');
    expect(query.body.data.me.id).toBe('8');
    const withHeader = await gqlWith(url, s.cookie, m, { 'x-csrf': '1' });
    expect(withHeader.status).toBe(200);
    expect(withHeader.body.data.createUser.id).toBeTruthy();

    demo.users.recorder.reset();
    const post = (headers: Record<string, string>) => fetch(`${url}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `${s.cookie}; a=b`, ...headers }, body: JSON.stringify({ name: 'Yan', email: 'yan@example.test' }) });
    const refused = await post({});
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe('CSRF_REQUIRED');
    expect(demo.users.recorder.calls).toHaveLength(0);
    const ok = await post({ 'x-csrf': '1' });
    expect(ok.status).toBe(201);
    const call = demo.users.recorder.calls.at(-1)!;
    expect(call.headers.authorization).toMatch(/^Bearer /);
    expect(call.headers.cookie).toBe('a=b');
    // A safe method needs no header.
    expect((await fetch(`${url}/api/users/8`, { headers: { cookie: s.cookie } })).status).toBe(200);
  });

  it('answers credentialed CORS only for the configured origin', async () => {
    const s = await login(provider, url, '15');
    const preflight = (origin: string) =>
      fetch(`${url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-csrf' } });
    const ok = await preflight(APP_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-csrf');
    expect((await preflight('https://evil.test')).status).toBe(403);
    const fromApp = await gqlWith(url, s.cookie, '{ me { id } }', { origin: APP_ORIGIN });
    expect(fromApp.body.data.me.id).toBe('15');
    const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { origin: 'https://evil.test', cookie: s.cookie, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { id } }' }) });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('refuses a replayed state, and a code delivered with the state of another login', async () => {
    const s = await login(provider, url, '9');
    const replay = await fetch(s.callbackUrl, { redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect((await replay.json()).code).toBe('LOGIN_FAILED');
    expect(replay.headers.get('set-cookie')).toBeNull();

    // Two logins; B's code arrives with A's state: A's nonce and PKCE verifier do not fit B's code.
    provider.autoLogin = '9';
    const a = new URL((await fetch(`${url}/auth/login`, { redirect: 'manual' })).headers.get('location')!);
    const b = new URL((await fetch(`${url}/auth/login`, { redirect: 'manual' })).headers.get('location')!);
    expect(a.searchParams.get('nonce')).not.toBe(b.searchParams.get('nonce'));
    expect(a.searchParams.get('code_challenge_method')).toBe('S256');
    const cbB = new URL(await toCallback(provider, url, b.href));
    cbB.searchParams.set('state', a.searchParams.get('state')!);
    const mixed = await fetch(cbB, { redirect: 'manual' });
    expect(mixed.status).toBe(400);
    expect((await mixed.json()).code).toBe('LOGIN_FAILED');
    expect(mixed.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a login whose subject cannot travel upstream as X-User-Id', async () => {
    await expect(login(provider, url, 'x'.repeat(300))).rejects.toThrow(/callback answered 400.*LOGIN_FAILED/);
  });

  it('allows returnTo only to a path here or a configured origin', async () => {
    for (const bad of ['//evil.test', '/\\evil.test', '/.//evil.test', '/%2F%2Fevil.test', 'https://evil.test/', 'javascript:alert(1)', `${APP_ORIGIN}.evil.test/`, 'https://user@app.example.test/']) {
      const r = await fetch(`${url}/auth/login?returnTo=${encodeURIComponent(bad)}`, { redirect: 'manual' });
      expect(r.status, bad).toBe(400);
    }
    const s = await login(provider, url, '10', { returnTo: `${APP_ORIGIN}/orders` });
    expect(s.location).toBe(`${APP_ORIGIN}/orders`);
  });

  it('rotates the session id at login and revokes the one the browser had', async () => {
    const first = await login(provider, url, '11');
    const second = await login(provider, url, '11', { cookie: first.cookie });
    expect(second.cookie).not.toBe(first.cookie);
    expect((await fetch(`${url}/auth/session`, { headers: { cookie: first.cookie } })).status).toBe(401);
    expect((await fetch(`${url}/auth/session`, { headers: { cookie: second.cookie } })).status).toBe(200);
  });

  it('logs out with the CSRF header only; the old cookie is then worth nothing', async () => {
    const s = await login(provider, url, '12');
    const noHeader = await fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie } });
    expect(noHeader.status).toBe(403);
    expect((await fetch(`${url}/auth/session`, { headers: { cookie: s.cookie } })).status).toBe(200);
    const out = await fetch(`${url}/auth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: s.cookie, 'x-csrf': '1' } });
    expect(out.status).toBe(303);
    const to = new URL(out.headers.get('location')!);
    expect(to.origin).toBe(provider.issuer);
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${url}/`);
    expect(to.searchParams.get('id_token_hint')).toBeTruthy();
    expect(out.headers.get('set-cookie')).toMatch(/^gw_session=; .*Max-Age=0/);
    // The stolen cookie, replayed after logout.
    expect((await fetch(`${url}/auth/session`, { headers: { cookie: s.cookie } })).status).toBe(401);
    const r = await gqlWith(url, s.cookie, '{ me { id } }');
    expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(r.body.errors[0].message).toContain('log in at /auth/login');
    expect((await fetch(`${url}/api/users/12`, { headers: { cookie: s.cookie } })).status).toBe(401);
  });

  it('50 parallel requests with an expiring access token cause one refresh at the provider', async () => {
    provider.ttl.accessToken = 5; // inside refreshSkewSec (10): due for refresh at once
    const s = await login(provider, url, '13');
    provider.ttl.accessToken = 600;
    const before = provider.refreshes;
    demo.users.recorder.reset();
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: 50 }, () => gqlWith(url, s.cookie, '{ me { id } }')));
    const ms = performance.now() - t0;
    expect(all.map((r) => r.body.data?.me?.id)).toEqual(Array(50).fill('13'));
    expect(provider.refreshes - before).toBe(1);
    // Every upstream call carried the refreshed token: one token for all.
    const tokens = new Set(demo.users.recorder.calls.map((c) => c.headers.authorization));
    expect(tokens.size).toBe(1);
    console.info(`[oidc] 50 parallel requests, expiring token: ${provider.refreshes - before} refresh, ${ms.toFixed(0)} ms`);
  });

  it('ends the session with 401 SESSION_EXPIRED when the refresh token has expired', async () => {
    provider.ttl.accessToken = 5;
    provider.ttl.refreshToken = 1;
    const s = await login(provider, url, '14');
    provider.ttl.accessToken = 600;
    provider.ttl.refreshToken = 3600;
    await new Promise((r) => setTimeout(r, 1100));
    const r = await gqlWith(url, s.cookie, '{ me { id } }');
    expect(r.status).toBe(401);
    expect(r.body.errors[0].extensions.code).toBe('SESSION_EXPIRED');
    expect((await fetch(`${url}/auth/session`, { headers: { cookie: s.cookie } })).status).toBe(401);
  });
});
