/**
 * Hot reload keeps browser sessions: the session plugin (its memory store and pending logins)
 * is carried into the new generation when none of its inputs (`auth.oidc`, `redis`) changed.
 * A reload cannot switch a process group (`--workers N`, N > 1) to the memory session store,
 * which start-up refuses too: each worker would hold sessions the others do not know.
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
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';
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

describe.skipIf(noRedis)('a reload and the session store of a process group', () => {
  const keyPrefix = testPrefix('oidc-reload-workers');
  afterAll(() => dropPrefix(keyPrefix));
  const config = (store: 'memory' | 'redis') => ({
    ...baseConfig(),
    logging: { level: 'info' },
    redis: { url: REDIS_URL, keyPrefix },
    auth: {
      oidc: {
        issuer: 'http://127.0.0.1:1',
        clientId: 'gateway',
        clientSecret: 'secret',
        redirectUri: 'http://127.0.0.1:1/auth/callback',
        sessionSecret: 'x'.repeat(40),
        session: { store },
      },
    },
  });

  async function reloadToMemory(workers: number | undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'gw-oidc-workers-')), 'gateway.yaml');
    writeFileSync(file, stringify(config('redis')));
    const logs: Array<Record<string, any>> = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
    const served = await serveGateway({ configFile: file, port: 0, host: '127.0.0.1', workers, logger, schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    try {
      writeFileSync(file, stringify(config('memory')));
      const result = await served.reload();
      const healthz = (await fetch(`${served.url}/healthz`)).status;
      return { result, generation: served.generation, store: served.gateway.config.auth.oidc?.session.store, healthz, logs };
    } finally {
      await served.close();
    }
  }

  it('--workers 2: switching the session store from Redis to memory is refused, naming the key; the running config keeps serving', async () => {
    const r = await reloadToMemory(2);
    expect(r.result.ok).toBe(false);
    expect(!r.result.ok && r.result.error).toMatch(/auth\.oidc\.session\.store: is memory, which one process holds: with --workers 2 /);
    expect(r.generation).toBe(1);
    expect(r.store).toBe('redis');
    expect(r.healthz).toBe(200);
    expect(r.logs.some((l) => l.msg === 'reload refused: the running configuration keeps serving' && /auth\.oidc\.session\.store/.test(l.reason))).toBe(true);
  });

  it('one process: the same reload is accepted', async () => {
    const r = await reloadToMemory(undefined);
    expect(r.result.ok).toBe(true);
    expect(r.store).toBe('memory');
  });
});
