import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, configFrom, baseConfig, type TestGateway } from './helpers/gateway.js';

const APP = 'https://app.example.com';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.server.cors = { origins: [APP], credentials: true, exposeHeaders: ['X-Request-Id'] };
      c.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET'] }, upstream: 'users', rewrite: { stripPrefix: '/api' } }];
    },
  });
});
afterAll(() => gw.close());

describe('cors', () => {
  it('answers an allowed preflight at the gateway (even for a method the route does not list)', async () => {
    gw.demo.reset();
    const r = await fetch(`${gw.url}/api/users/1`, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(APP);
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
    expect(r.headers.get('access-control-allow-methods')).toContain('POST');
    expect(r.headers.get('access-control-allow-headers')).toBe('content-type, authorization');
    expect(r.headers.get('vary')).toContain('Origin');
    expect(gw.demo.users.recorder.calls).toHaveLength(0);
  });

  it('refuses a preflight from an unknown origin', async () => {
    const r = await fetch(`${gw.url}/graphql`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('adds allow-origin and Vary: Origin to proxied and GraphQL answers for an allowed origin only', async () => {
    const ok = await fetch(`${gw.url}/api/users/1`, { headers: { Origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toBe('X-Request-Id');
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    const evil = await fetch(`${gw.url}/api/users/1`, { headers: { Origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('vary')).toMatch(/Origin/);
    const q = await gw.gql('{ user(id: "1") { name } }', undefined, { Origin: APP });
    expect(q.headers.get('access-control-allow-origin')).toBe(APP);
    // GraphQL answers follow the same allowlist (yoga's own CORS, which reflects any origin, is off).
    const evilQ = await gw.gql('{ user(id: "1") { name } }', undefined, { Origin: 'https://evil.example' });
    expect(evilQ.status).toBe(200);
    expect(evilQ.headers.get('access-control-allow-origin')).toBeNull();
    expect(evilQ.headers.get('access-control-allow-credentials')).toBeNull();
    const evilGet = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { Origin: 'https://evil.example', accept: 'application/json' } });
    expect(evilGet.status).toBe(200);
    expect(evilGet.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses "*" together with credentials in the config', () => {
    const raw = baseConfig();
    raw.server.cors = { origins: ['*'], credentials: true };
    expect(() => configFrom(raw)).toThrow(/server\.cors\.origins/);
  });
});
