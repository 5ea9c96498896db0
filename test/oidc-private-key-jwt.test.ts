/**
 * Client authentication with private_key_jwt (`auth.oidc.privateKey`): the gateway signs its
 * client assertion with a PKCS#8 key; the provider knows only the public key. Login and refresh
 * both authenticate this way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import type { RunningGateway } from '../src/index.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { freePort, gqlWith, login, oidcConfig, startOidcGateway } from './helpers/oidc-gateway.js';

describe('private_key_jwt client authentication', () => {
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let gw: RunningGateway;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    [provider, demo] = await Promise.all([
      startTestProvider({ redirectUri: () => [`${url}/auth/callback`], privateKeyJwtPublicJwk: { ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' } }),
      startFixtureUpstreams(),
    ]);
    const pem = await exportPKCS8(privateKey);
    gw = await startOidcGateway({
      port,
      demo,
      configure: (c) => (c.auth = { oidc: oidcConfig(provider, url, { clientId: 'gateway-pkjwt', clientSecret: undefined, privateKey: pem, privateKeyAlg: 'ES256', privateKeyKid: 'gw-1' }) }),
    });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await Promise.all([provider?.close(), demo?.close()]);
  });

  it('logs in and refreshes with a signed client assertion', async () => {
    provider.ttl.accessToken = 5;
    const s = await login(provider, url, '51');
    provider.ttl.accessToken = 600;
    const before = provider.refreshes;
    expect((await gqlWith(url, s.cookie, '{ me { id } }')).body.data.me.id).toBe('51');
    expect(provider.refreshes - before).toBe(1);
  });
});
