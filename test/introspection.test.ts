/**
 * RFC 7662 introspection of opaque bearer tokens (`auth.introspection`) against a real provider
 * (oidc-provider's introspection endpoint): an active token is an identity, answers are cached
 * for less than the token's remaining life, an inactive token is a 401, and the endpoint sits
 * behind its own breaker (failing calls stop reaching it; a trial call closes it again), whose
 * states reach the upstreams' metrics under the name `auth.introspection`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/index.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { freePort, gqlWith, login, oidcConfig, startOidcGateway } from './helpers/oidc-gateway.js';
import { parseSamples, sampleValue } from './helpers/prom-text.js';

describe('opaque bearer tokens by introspection', () => {
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let gw: RunningGateway;
  let url: string;

  /** A real opaque access token for `sub`: log in, and read the token the upstream received. */
  async function accessToken(sub: string): Promise<string> {
    const s = await login(provider, url, sub);
    demo.users.recorder.reset();
    await gqlWith(url, s.cookie, '{ me { id } }');
    return String(demo.users.recorder.calls.at(-1)!.headers.authorization).slice('Bearer '.length);
  }
  const asBearer = (token: string) => gqlWith(url, '', '{ me { id } }', { authorization: `Bearer ${token}` });
  const BREAKER = { upstream: 'auth.introspection' };
  async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    return sampleValue(parseSamples(await res.text()), name, { ...BREAKER, ...labels });
  }

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    [provider, demo] = await Promise.all([startTestProvider({ redirectUri: () => [`${url}/auth/callback`] }), startFixtureUpstreams()]);
    gw = await startOidcGateway({
      port,
      demo,
      configure: (c) =>
        (c.auth = {
          oidc: oidcConfig(provider, url),
          introspection: { endpoint: `${provider.issuer}/token/introspection`, clientId: provider.clientId, clientSecret: provider.clientSecret, cacheTtlSec: 30, breaker: { failureThreshold: 2, openMs: 400 } },
          failureLimit: false,
        }),
    });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await Promise.all([provider?.close(), demo?.close()]);
  });

  it('an active opaque token is an identity; the answer is cached', async () => {
    const token = await accessToken('31');
    const before = provider.introspections;
    demo.users.recorder.reset();
    const r = await asBearer(token);
    expect(r.body.data.me.id).toBe('31');
    expect(demo.users.recorder.calls.at(-1)!.headers['x-user-id']).toBe('31');
    expect((await asBearer(token)).body.data.me.id).toBe('31');
    expect(provider.introspections - before).toBe(1);
  });

  it('an unknown token is a 401, asked once', async () => {
    const before = provider.introspections;
    const r = await asBearer('not-a-token-the-provider-issued');
    expect(r.status).toBe(401);
    expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await asBearer('not-a-token-the-provider-issued')).status).toBe(401);
    expect(provider.introspections - before).toBe(1);
  });

  it('caches an answer for at most half of the token remaining life', async () => {
    provider.ttl.accessToken = 2;
    const token = await accessToken('32');
    provider.ttl.accessToken = 600;
    const before = provider.introspections;
    expect((await asBearer(token)).body.data.me.id).toBe('32');
    expect((await asBearer(token)).body.data.me.id).toBe('32');
    expect(provider.introspections - before).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    await asBearer(token);
    expect(provider.introspections - before).toBe(2);
  });

  it('puts the introspection endpoint behind its own breaker, reported like an upstream circuit', async () => {
    expect(await metric('gateway_circuit_state')).toBe(0);
    provider.down = true;
    try {
      const seen = provider.refusedWhileDown;
      for (const t of ['opaque-a', 'opaque-b']) {
        const r = await asBearer(t);
        expect(r.status).toBe(503);
        expect(r.body.errors[0].extensions.code).toBe('IDP_UNAVAILABLE');
      }
      expect(provider.refusedWhileDown - seen).toBe(2);
      const t0 = performance.now();
      const open = await asBearer('opaque-c');
      expect(open.status).toBe(503);
      expect(open.body.errors[0].extensions.code).toBe('IDP_UNAVAILABLE');
      expect(performance.now() - t0).toBeLessThan(500);
      expect(provider.refusedWhileDown - seen).toBe(2);
      expect(await metric('gateway_circuit_state')).toBe(2);
      expect(await metric('gateway_circuit_state_changes_total', { state: 'open' })).toBe(1);
      expect(await metric('gateway_upstream_target_ejections_total')).toBe(1);
      expect(await metric('gateway_upstream_refused_total', { reason: 'circuit_open' })).toBe(1);
    } finally {
      provider.down = false;
    }
    await new Promise((r) => setTimeout(r, 450));
    const token = await accessToken('33');
    expect((await asBearer(token)).body.data.me.id).toBe('33');
    expect(await metric('gateway_circuit_state')).toBe(0);
    expect(await metric('gateway_circuit_state_changes_total', { state: 'closed' })).toBe(1);
    expect(await metric('gateway_upstream_target_state')).toBe(0);
  });
});
