/**
 * `auth.oidc` / `auth.introspection` configuration: mistakes are named by key path, and a memory
 * session store is refused with more than one worker (each worker would hold its own sessions).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ConfigProblem } from '../src/config/load.js';
import { runCli } from './helpers/cli.js';
import { startTestGateway } from './helpers/gateway.js';

const OIDC = {
  issuer: 'https://idp.example.test',
  clientId: 'gateway',
  clientSecret: 'secret',
  redirectUri: 'https://app.example.test/auth/callback',
  sessionSecret: 'x'.repeat(40),
};
const upstreams = { users: { targets: [{ url: 'http://127.0.0.1:1' }] } };

function problems(cfg: Record<string, unknown>): ConfigProblem[] {
  try {
    parseConfig(stringify(cfg), {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('auth.oidc configuration', () => {
  it('accepts a minimal section and fills the defaults', () => {
    const c = parseConfig(stringify({ upstreams, auth: { oidc: OIDC } }), {});
    expect(c.auth.oidc).toMatchObject({ pathPrefix: '/auth', cookie: { name: 'gw_session', secure: true, sameSite: 'lax' }, session: { store: 'memory' }, csrfHeader: 'X-CSRF', scopes: ['openid', 'profile', 'email'] });
  });

  it.each([
    [{ ...OIDC, sessionSecret: 'short' }, 'auth.oidc.sessionSecret'],
    [{ ...OIDC, redirectUri: 'https://app.example.test/elsewhere' }, 'auth.oidc.redirectUri'],
    [{ ...OIDC, clientSecret: undefined }, 'auth.oidc.clientSecret'],
    [{ ...OIDC, privateKey: 'pem' }, 'auth.oidc.clientSecret'],
    [{ ...OIDC, scopes: ['profile'] }, 'auth.oidc.scopes'],
    [{ ...OIDC, allowedReturnToOrigins: ['https://app.example.test/path'] }, 'auth.oidc.allowedReturnToOrigins[0]'],
    [{ ...OIDC, session: { idleTimeoutSec: 100, absoluteTimeoutSec: 50 } }, 'auth.oidc.session.idleTimeoutSec'],
    [{ ...OIDC, session: { store: 'redis' } }, 'auth.oidc.session.store'],
    [{ ...OIDC, cookie: { secuer: false } }, 'auth.oidc.cookie.secuer'],
    [{ ...OIDC, pathPrefix: '/auth/' }, 'auth.oidc.pathPrefix'],
  ])('names the key of a mistake (%#)', (oidc, path) => {
    expect(problems({ upstreams, auth: { oidc } }).map((p) => p.path)).toContain(path);
  });

  it('names the key of an introspection mistake', () => {
    expect(problems({ upstreams, auth: { introspection: { endpoint: 'ftp://x', clientId: 'a', clientSecret: 'b' } } }).map((p) => p.path)).toContain('auth.introspection.endpoint');
  });

  it('refuses a memory session store with more than one worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-oidc-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify({ server: { port: 0 }, upstreams, auth: { oidc: OIDC } }));
    const r = await runCli(['start', '--config', file, '--workers', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('auth.oidc.session.store is memory');
  });

  it('answers a login fast with 503 IDP_UNAVAILABLE while the provider cannot be reached', async () => {
    const gw = await startTestGateway({ configure: (c) => (c.auth = { oidc: { ...OIDC, issuer: 'http://127.0.0.1:1', redirectUri: 'http://127.0.0.1:1/auth/callback', timeoutMs: 1000 } }) });
    try {
      const t0 = performance.now();
      const r = await fetch(`${gw.url}/auth/login`, { redirect: 'manual' });
      expect(r.status).toBe(503);
      expect((await r.json()).code).toBe('IDP_UNAVAILABLE');
      expect(performance.now() - t0).toBeLessThan(1500);
    } finally {
      await gw.close();
    }
  });
});
