/**
 * Hot reload keeps browser sessions: the session plugin (its memory store and pending logins)
 * is carried into the new generation when none of its inputs (`auth.oidc`, `redis`) changed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveGateway, type ServedGateway } from '../src/reload.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { baseConfig } from './helpers/gateway.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { freePort, gqlWith, login, oidcConfig } from './helpers/oidc-gateway.js';

describe('browser sessions across a hot reload', () => {
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let served: ServedGateway;
  let url: string;
  let file: string;
  const config = (level: string) => ({ ...baseConfig(), logging: { level }, auth: { oidc: oidcConfig(provider, url) } });

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    [provider, demo] = await Promise.all([startTestProvider({ redirectUri: () => [`${url}/auth/callback`] }), startFixtureUpstreams()]);
    file = join(mkdtempSync(join(tmpdir(), 'gw-oidc-reload-')), 'gateway.yaml');
    writeFileSync(file, stringify(config('silent')));
    served = await serveGateway({ configFile: file, port, host: '127.0.0.1', demoTargets: demo.targets, logger: createLogger({ level: 'silent' }), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
  }, 30_000);
  afterAll(async () => {
    await served?.close();
    await Promise.all([provider?.close(), demo?.close()]);
  });

  it('a session started before a reload is still valid after it', async () => {
    const s = await login(provider, url, '41');
    writeFileSync(file, stringify(config('error')));
    const r = await served.reload();
    expect(r.ok).toBe(true);
    expect(served.generation).toBe(2);
    expect((await gqlWith(url, s.cookie, '{ me { id } }')).body.data.me.id).toBe('41');
  });
});
